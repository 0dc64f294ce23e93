/** `/v1/health/*` (Consul's agent/health_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, applyFilter, json, read, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { nodeMetaFilter, tagFilter } from "./filters.ts";
import { parseBoolParam } from "./query.ts";
import { nodeJson, nodeServiceJson } from "./render.ts";
import { catalogRead, nodeTopic, serviceTopic, Topic } from "../state/mod.ts";
import type { HealthCheck } from "../structs/catalog.ts";
import { checkServiceNodeSchema, healthCheckSchema } from "../filter/mod.ts";

const STATES = new Set(["any", "passing", "warning", "critical"]);

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
  nodeMeta?: (node: string) => Record<string, string>,
): Response {
  const rows = nodeMeta ? nodeMetaFilter(checks, url, (ch) => nodeMeta(ch.Node)) : checks;
  return json(c, applyFilter(rows, q, healthCheckSchema), q);
}

export function healthRoutes(app: Hono, api: ApiContext): void {
  const t = () => api.server.state.t;
  const metaOf = (node: string) => t().nodes.get(node)?.Meta ?? {};

  app.get("/v1/health/node/:node", (c) => {
    const node = param(c, "node", "node name");
    const url = urlOf(c);
    return read(c, api, [nodeTopic(node)], () => catalogRead.nodeChecks(t(), node), (checks, q) => checksResponse(c, checks, q, url));
  });

  app.get("/v1/health/checks/:service", (c) => {
    const name = param(c, "service", "service name");
    const url = urlOf(c);
    return read(c, api, [serviceTopic(name)], () => catalogRead.serviceChecks(t(), name), (checks, q) => checksResponse(c, checks, q, url, metaOf));
  });

  app.get("/v1/health/state/:state", (c) => {
    const state = c.req.param("state");
    if (!STATES.has(state)) throw new HttpError(400, `Invalid check state: "${state}"`);
    const url = urlOf(c);
    return read(c, api, [Topic.Checks], () => catalogRead.checksInState(t(), state), (checks, q) => checksResponse(c, checks, q, url, metaOf));
  });

  app.get("/v1/health/service/:service", (c) => {
    const name = param(c, "service", "service name");
    const url = urlOf(c);
    const passing = parseBoolParam(url.searchParams.get("passing"), "passing");
    return read(c, api, [serviceTopic(name)], () => catalogRead.checkServiceNodes(t(), name), (rows, q) => {
      let out = tagFilter(rows, url, (r) => r.Service.Tags);
      out = nodeMetaFilter(out, url, (r) => r.Node.Meta);
      if (passing) out = out.filter((r) => r.Checks.every((ch) => ch.Status === "passing"));
      const wire = out.map((r) => ({ Node: nodeJson(r.Node), Service: nodeServiceJson(r.Service), Checks: r.Checks }));
      return json(c, applyFilter(wire, q, checkServiceNodeSchema), q);
    });
  });
}
