/** `/v1/health/*` (Consul's agent/health_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, applyFilter, json, queryOptions, reply, setMeta, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { nearArg } from "./coordinate.ts";
import { cachedCall } from "./cached.ts";
import { nodeMetaFilter, nodeMetaPairs, tagFilter } from "./filters.ts";
import { parseBoolParam, type QueryOptions } from "./query.ts";
import { checkServiceNodesAnswer } from "./listing.ts";
import type { MaybePromise, QueryReply } from "../rpc/mod.ts";
import type { HealthCheck } from "../structs/catalog.ts";
import { healthCheckSchema } from "../filter/mod.ts";

const STATES = new Set(["any", "passing", "warning", "critical"]);

/** Node meta by node name (check rows carry node names only). */
type MetaOf = (node: string) => Record<string, string>;

function param(c: Context, name: string, what: string): string {
  const v = c.req.param(name) ?? "";
  if (v === "") throw new HttpError(400, `Missing ${what}`);
  return v;
}

/** `nodeMeta` is given where Consul honours `?node-meta` (checks/:service and state/:state). */
function checksResponse(
  c: Context,
  checks: HealthCheck[],
  q: Parameters<typeof applyFilter>[1],
  url: URL,
  nodeMeta?: MetaOf,
): Response {
  const rows = nodeMeta ? nodeMetaFilter(checks, url, (ch) => nodeMeta(ch.Node)) : checks;
  return json(c, applyFilter(rows, q, healthCheckSchema), q);
}

export function healthRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/health/node/:node", (c) => {
    const node = param(c, "node", "node name");
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Health.NodeChecks", { Node: node }, q), (checks, q) => checksResponse(c, checks, q, url));
  });

  app.get("/v1/health/checks/:service", (c) => {
    const name = param(c, "service", "service name");
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return checksWithNodeMeta(c, api, q, url, api.rpc.call("Health.ServiceChecks", { ServiceName: name, ...nearArg(url, api) }, q));
  });

  app.get("/v1/health/state/:state", (c) => {
    const state = c.req.param("state");
    if (!STATES.has(state)) throw new HttpError(400, `Invalid check state: "${state}"`);
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return checksWithNodeMeta(c, api, q, url, api.rpc.call("Health.ChecksInState", { State: state, ...nearArg(url, api) }, q));
  });

  app.get("/v1/health/service/:service", (c) => {
    const name = param(c, "service", "service name");
    const url = urlOf(c);
    const passing = parseBoolParam(url.searchParams.get("passing"), "passing");
    const q = queryOptions(c, api);
    return reply(c, q, cachedCall(c, api, q, "Health.ServiceNodes", { ServiceName: name, ...nearArg(url, api) }), (rows, q) => {
      let out = tagFilter(rows, url, (r) => r.Service.Tags);
      out = nodeMetaFilter(out, url, (r) => r.Node.Meta);
      if (passing) out = out.filter((r) => r.Checks.every((ch) => ch.Status === "passing"));
      return checkServiceNodesAnswer(c, api, q, out);
    });
  });
}

/**
 * The checks endpoints that honour `?node-meta` need each check's node meta:
 * only then, once the checks have answered (a blocking read has woken), is
 * the node list fetched.
 */
function checksWithNodeMeta(
  c: Context,
  api: ApiContext,
  q: QueryOptions,
  url: URL,
  r: MaybePromise<QueryReply<HealthCheck[]>>,
): Response | Promise<Response> {
  if (nodeMetaPairs(url).length === 0) return reply(c, q, r, (checks, q) => checksResponse(c, checks, q, url));
  return (async () => {
    const res = await r;
    const nodes = await api.rpc.call("Catalog.ListNodes", {}, { ...q, minIndex: 0 });
    const meta = new Map(nodes.value.map((n) => [n.Node, n.Meta]));
    setMeta(c, res, q);
    return checksResponse(c, res.value, q, url, (node) => meta.get(node) ?? {});
  })();
}
