/** `/v1/acl/auth-method*`, `/v1/acl/binding-rule*`, `/v1/acl/login` and `/v1/acl/logout` (Consul's agent/acl_endpoint.go). */
import type { Hono } from "hono";
import { found } from "./acl.ts";
import { type ApiContext, json, queryOptions, readJson, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";

const BODY_LIMIT = 1024 * 1024;

/** Mounted after the /v1/acl/* middleware that answers 401 while ACLs are off. */
export function aclAuthRoutes(app: Hono, api: ApiContext): void {
  // ---- auth methods ----
  app.put("/v1/acl/auth-method", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.AuthMethodSet", { AuthMethod: await readJson(c, BODY_LIMIT), Create: true }, q), q);
  });
  app.get("/v1/acl/auth-methods", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.AuthMethodList", {}, q), (v) => json(c, v, q));
  });
  app.get("/v1/acl/auth-method/:name", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.AuthMethodRead", { AuthMethodName: c.req.param("name") }, q), found(c, "auth method"));
  });
  app.put("/v1/acl/auth-method/:name", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.AuthMethodSet", { AuthMethod: await readJson(c, BODY_LIMIT), Create: false, Name: c.req.param("name") }, q), q);
  });
  app.delete("/v1/acl/auth-method/:name", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.AuthMethodDelete", { AuthMethodName: c.req.param("name") }, q), q);
  });

  // ---- binding rules ----
  app.put("/v1/acl/binding-rule", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.BindingRuleSet", { BindingRule: await readJson(c, BODY_LIMIT), Create: true }, q), q);
  });
  app.get("/v1/acl/binding-rules", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.BindingRuleList", { AuthMethod: urlOf(c).searchParams.get("authmethod") ?? "" }, q), (v) => json(c, v, q));
  });
  app.get("/v1/acl/binding-rule/:id", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.BindingRuleRead", { BindingRuleID: c.req.param("id") }, q), found(c, "binding rule"));
  });
  app.put("/v1/acl/binding-rule/:id", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.BindingRuleSet", { BindingRule: await readJson(c, BODY_LIMIT), Create: false, ID: c.req.param("id") }, q), q);
  });
  app.delete("/v1/acl/binding-rule/:id", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.BindingRuleDelete", { BindingRuleID: c.req.param("id") }, q), q);
  });

  // ---- login / logout ----
  app.post("/v1/acl/login", async (c) => {
    // Login acts with no token (Consul's handler reads none).
    const { token: _ignored, ...q } = queryOptions(c, api);
    const body = await readJson(c, BODY_LIMIT);
    if (body === null || typeof body !== "object" || Array.isArray(body)) throw new HttpError(400, "Failed to decode request body: body must be a JSON object");
    const b = body as Record<string, unknown>;
    const pick = (k: string): unknown => Object.entries(b).find(([key]) => key.toLowerCase() === k.toLowerCase())?.[1];
    const method = pick("AuthMethod") ?? "";
    const bearer = pick("BearerToken") ?? "";
    const meta = pick("Meta") ?? {};
    if (typeof method !== "string" || typeof bearer !== "string") throw new HttpError(400, "Failed to decode request body: AuthMethod and BearerToken must be strings");
    if (meta === null || typeof meta !== "object" || Array.isArray(meta) || Object.values(meta).some((v) => typeof v !== "string")) {
      throw new HttpError(400, "Failed to decode request body: Meta must be a map of strings");
    }
    return json(c, await api.rpc.call("ACL.Login", { AuthMethod: method, BearerToken: bearer, Meta: meta as Record<string, string> }, q), q);
  });
  app.post("/v1/acl/logout", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("ACL.Logout", {}, q);
    return json(c, true, q);
  });
}
