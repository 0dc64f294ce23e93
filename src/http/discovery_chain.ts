/** `/v1/discovery-chain/:service` (Consul's agent/discovery_chain_endpoint.go): GET, or POST with overrides. */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, readText, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { cachedCall } from "./cached.ts";
import { GraphError } from "../configentry/graph.ts";
import { renderChain } from "../connect/discoverychain/mod.ts";
import type { DiscoveryChainArgs } from "../rpc/methods.ts";
import { parseDuration } from "../structs/duration.ts";
import { field, isObject } from "../structs/json.ts";

const MESH_GATEWAY_MODES = new Set(["", "none", "local", "remote"]);
const MAX_BODY = 64 * 1024;

type Overrides = Pick<DiscoveryChainArgs, "OverrideProtocol" | "OverrideConnectTimeout" | "OverrideMeshGateway">;

/** Consul's decodeDiscoveryChainReadRequest: weakly typed, case-insensitive, snake_case accepted, unknown keys ignored. */
export function decodeOverrides(raw: unknown): Overrides {
  const out = { OverrideProtocol: "", OverrideConnectTimeout: 0, OverrideMeshGateway: { Mode: "" } };
  if (raw === null) return out;
  if (!isObject(raw)) throw new Error(`'' expected a map, got '${Array.isArray(raw) ? "slice" : typeof raw}'`);
  const proto = field(raw, "OverrideProtocol", "override_protocol");
  if (proto !== undefined && proto !== null) {
    if (typeof proto !== "string" && typeof proto !== "number" && typeof proto !== "boolean") throw new Error(`'OverrideProtocol' expected type 'string', got unconvertible type '${Array.isArray(proto) ? "[]interface {}" : "map[string]interface {}"}'`);
    out.OverrideProtocol = String(proto);
  }
  const timeout = field(raw, "OverrideConnectTimeout", "override_connect_timeout");
  if (typeof timeout === "string") out.OverrideConnectTimeout = Math.round(parseDuration(timeout) * 1e6);
  else if (typeof timeout === "number") out.OverrideConnectTimeout = Math.trunc(timeout);
  else if (timeout !== undefined && timeout !== null) throw new Error("'OverrideConnectTimeout' expected type 'time.Duration'");
  const mgw = field(raw, "OverrideMeshGateway", "override_mesh_gateway");
  if (isObject(mgw)) {
    const mode = field(mgw, "Mode");
    if (mode !== undefined && mode !== null) out.OverrideMeshGateway = { Mode: String(mode) };
  } else if (mgw !== undefined && mgw !== null) throw new Error("'OverrideMeshGateway' expected a map");
  return out;
}

export function discoveryChainRoutes(app: Hono, api: ApiContext): void {
  const handler = async (c: Context) => {
    const q = queryOptions(c, api);
    const name = urlOf(c).pathname.slice("/v1/discovery-chain/".length);
    if (name === "") throw new HttpError(400, "Missing chain name");
    let overrides: Overrides = { OverrideProtocol: "", OverrideConnectTimeout: 0, OverrideMeshGateway: { Mode: "" } };
    if (c.req.method === "POST") {
      const text = await readText(c, MAX_BODY);
      try {
        overrides = decodeOverrides(text.trim() === "" ? null : JSON.parse(text));
      } catch (err) {
        throw new HttpError(400, `Request decoding failed: ${(err as Error).message}`);
      }
      if (!MESH_GATEWAY_MODES.has(overrides.OverrideMeshGateway.Mode)) throw new HttpError(400, "Invalid OverrideMeshGateway.Mode parameter");
    }
    const args: DiscoveryChainArgs = { Name: decodeURIComponent(name), EvaluateInDatacenter: urlOf(c).searchParams.get("compile-dc") ?? "", ...overrides };
    try {
      return await reply(c, q, cachedCall(c, api, q, "DiscoveryChain.Get", args), (chain) => json(c, { Chain: renderChain(chain) }, q));
    } catch (err) {
      if (err instanceof GraphError) throw new HttpError(500, err.message);
      throw err;
    }
  };
  app.get("/v1/discovery-chain/*", handler);
  app.post("/v1/discovery-chain/*", handler);
  app.get("/v1/discovery-chain", () => {
    throw new HttpError(400, "Missing chain name");
  });
}
