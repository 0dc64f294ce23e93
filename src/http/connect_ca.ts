/** `/v1/connect/ca/*` (Consul's agent/connect_ca_endpoint.go): roots and CA configuration. */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, readJson, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { CAConfigUpdate } from "../server/mod.ts";
import type { IndexedCARoots } from "../structs/connect_ca.ts";
import { field, isObject } from "../structs/json.ts";

/** Go's strconv.ParseBool. */
function parseBool(value: string): boolean | null {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return null;
}

/** The roots as one PEM chain: each root followed by its intermediates. */
export function rootsPem(roots: IndexedCARoots): string {
  let out = "";
  for (const r of roots.Roots) {
    out += r.RootCert;
    for (const i of r.IntermediateCerts ?? []) out += i;
  }
  return out;
}

/** Decodes a CA configuration body (Provider, Config, State, ForceWithoutCrossSigning). */
export function decodeCAConfig(body: unknown): CAConfigUpdate {
  if (!isObject(body)) throw new HttpError(400, "Request decode failed: body must be a JSON object");
  const provider = field(body, "Provider");
  if (provider !== undefined && provider !== null && typeof provider !== "string") throw new HttpError(400, "Request decode failed: Provider must be a string");
  const config = field(body, "Config");
  if (config !== undefined && config !== null && !isObject(config)) throw new HttpError(400, "Request decode failed: Config must be an object");
  const state = field(body, "State");
  if (state !== undefined && state !== null && (!isObject(state) || Object.values(state).some((v) => typeof v !== "string"))) {
    throw new HttpError(400, "Request decode failed: State must be a map of strings");
  }
  const force = field(body, "ForceWithoutCrossSigning", "force_without_cross_signing");
  if (force !== undefined && force !== null && typeof force !== "boolean") throw new HttpError(400, "Request decode failed: ForceWithoutCrossSigning must be a boolean");
  return {
    Provider: (provider as string | undefined) ?? "",
    Config: (config as Record<string, unknown> | undefined) ?? {},
    State: (state as Record<string, string> | undefined) ?? null,
    ForceWithoutCrossSigning: force === true,
  };
}

export function connectCARoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/connect/ca/roots", (c) => {
    const raw = urlOf(c).searchParams.get("pem");
    let pem = false;
    if (raw !== null && raw !== "") {
      const v = parseBool(raw);
      if (v === null) throw new HttpError(400, "The 'pem' query parameter must be a boolean value");
      pem = v;
    }
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ConnectCA.Roots", {}, q), (roots) =>
      pem ? c.body(rootsPem(roots), 200, { "Content-Type": "application/pem-certificate-chain" }) : json(c, roots, q),
    );
  });

  app.get("/v1/connect/ca/configuration", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("ConnectCA.ConfigurationGet", {}, q), (cfg) => json(c, cfg, q));
  });

  app.put("/v1/connect/ca/configuration", async (c: Context) => {
    const q = queryOptions(c, api);
    const update = decodeCAConfig(await readJson(c));
    await api.rpc.call("ConnectCA.ConfigurationSet", { Config: update }, q);
    return c.body(null, 200);
  });

  app.on(["POST", "DELETE", "PATCH"], "/v1/connect/ca/configuration", (c) => {
    throw new HttpError(405, `method ${c.req.method} not allowed`);
  });
}
