/** `/v1/acl/*` (Consul's agent/acl_endpoint.go): bootstrap, tokens, policies, roles, replication status. */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, readJson, reply, tokenOf, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { ACLDisabledError } from "../acl/mod.ts";
import type { TokenName } from "../agent/acl.ts";
import type { QueryOptions } from "./query.ts";

const ACL_BODY_LIMIT = 1024 * 1024;

/** A read's answer, or Consul's 404 for a missing ACL object. */
export function found<T>(c: Context, what: "token" | "policy" | "role" | "auth method" | "binding rule") {
  return (value: T | null, q: QueryOptions): Response => {
    if (value === null) throw new HttpError(404, `Requested ${what} does not exist: ACL not found`);
    return json(c, value, q);
  };
}

export function aclRoutes(app: Hono, api: ApiContext): void {
  // Consul answers every ACL route with 401 while ACLs are off.
  app.use("/v1/acl/*", async (c, next) => {
    if (!api.acl?.enabled) throw new ACLDisabledError();
    await next();
  });

  app.put("/v1/acl/bootstrap", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.BootstrapTokens", {}, q), q);
  });

  app.get("/v1/acl/replication", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.ReplicationStatus", {}, q), q);
  });

  // ---- tokens ----
  app.put("/v1/acl/token", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.TokenSet", { Token: await readJson(c, ACL_BODY_LIMIT), Create: true }, q), q);
  });
  app.get("/v1/acl/tokens", (c) => {
    const q = queryOptions(c, api);
    const p = urlOf(c).searchParams;
    const args = { Policy: p.get("policy") ?? "", Role: p.get("role") ?? "", ServiceName: p.get("servicename") ?? "", AuthMethod: p.get("authmethod") ?? "" };
    return reply(c, q, api.rpc.call("ACL.TokenList", args, q), (v) => json(c, v, q));
  });
  app.get("/v1/acl/token/self", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.TokenRead", { TokenID: tokenOf(c), Self: true }, q), (v) => {
      if (v === null) throw new HttpError(404, "Supplied token does not exist");
      return json(c, v, q);
    });
  });
  app.put("/v1/acl/token/:id/clone", async (c) => {
    const q = queryOptions(c, api);
    const body = (await readJson(c, ACL_BODY_LIMIT)) as { Description?: unknown } | null;
    const description = typeof body?.Description === "string" ? body.Description : "";
    return json(c, await api.rpc.call("ACL.TokenClone", { AccessorID: c.req.param("id"), Description: description }, q), q);
  });
  app.get("/v1/acl/token/:id", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.TokenRead", { TokenID: c.req.param("id"), Self: false }, q), found(c, "token"));
  });
  app.put("/v1/acl/token/:id", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.TokenSet", { Token: await readJson(c, ACL_BODY_LIMIT), Create: false, AccessorID: c.req.param("id") }, q), q);
  });
  app.delete("/v1/acl/token/:id", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("ACL.TokenDelete", { TokenID: c.req.param("id") }, q);
    return json(c, true, q);
  });

  // ---- policies ----
  app.put("/v1/acl/policy", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.PolicySet", { Policy: await readJson(c, ACL_BODY_LIMIT), Create: true }, q), q);
  });
  app.get("/v1/acl/policies", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.PolicyList", {}, q), (v) => json(c, v, q));
  });
  app.get("/v1/acl/policy/name/:name{.+}", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.PolicyRead", { PolicyID: "", PolicyName: c.req.param("name") }, q), found(c, "policy"));
  });
  app.get("/v1/acl/policy/:id", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.PolicyRead", { PolicyID: c.req.param("id"), PolicyName: "" }, q), found(c, "policy"));
  });
  app.put("/v1/acl/policy/:id", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.PolicySet", { Policy: await readJson(c, ACL_BODY_LIMIT), Create: false, ID: c.req.param("id") }, q), q);
  });
  app.delete("/v1/acl/policy/:id", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("ACL.PolicyDelete", { PolicyID: c.req.param("id") }, q);
    return json(c, true, q);
  });

  // ---- roles ----
  app.put("/v1/acl/role", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.RoleSet", { Role: await readJson(c, ACL_BODY_LIMIT), Create: true }, q), q);
  });
  app.get("/v1/acl/roles", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.RoleList", { Policy: urlOf(c).searchParams.get("policy") ?? "" }, q), (v) => json(c, v, q));
  });
  app.get("/v1/acl/role/name/:name{.+}", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.RoleRead", { RoleID: "", RoleName: c.req.param("name") }, q), found(c, "role"));
  });
  app.get("/v1/acl/role/:id", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ACL.RoleRead", { RoleID: c.req.param("id"), RoleName: "" }, q), found(c, "role"));
  });
  app.put("/v1/acl/role/:id", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("ACL.RoleSet", { Role: await readJson(c, ACL_BODY_LIMIT), Create: false, ID: c.req.param("id") }, q), q);
  });
  app.delete("/v1/acl/role/:id", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("ACL.RoleDelete", { RoleID: c.req.param("id") }, q);
    return json(c, true, q);
  });
}

const AGENT_TOKEN_TYPES: Readonly<Record<string, TokenName>> = {
  default: "default",
  agent: "agent",
  agent_recovery: "agent_recovery",
  "agent-recovery": "agent_recovery",
  agent_master: "agent_recovery",
  dns: "dns",
  replication: "replication",
  config_file_service_registration: "config_file_service_registration",
  acl_token: "default",
  acl_agent_token: "agent",
  acl_agent_master_token: "agent_recovery",
  acl_replication_token: "replication",
};

/** `PUT /v1/agent/token/:type` (Consul's AgentToken): sets one of the agent's tokens in memory. */
export function agentTokenRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/agent/token/:type", async (c) => {
    if (!api.acl?.enabled) throw new ACLDisabledError();
    const name = AGENT_TOKEN_TYPES[c.req.param("type")];
    if (name === undefined) throw new HttpError(404, `Token "${c.req.param("type")}" is unknown`);
    const body = (await readJson(c, ACL_BODY_LIMIT)) as { Token?: unknown } | null;
    if (body === null || typeof body !== "object" || typeof body.Token !== "string") throw new HttpError(400, "Request decode failed: Token must be a string");
    await api.acl.setToken(name, body.Token);
    return c.body(null, 200);
  });
}
