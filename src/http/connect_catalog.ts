/**
 * `/v1/catalog/connect/:service` and `/v1/health/connect/:service`: where a
 * client of the mesh dials `service` (its sidecar proxies and Connect-native
 * instances), with the query parameters of their non-Connect counterparts;
 * `/v1/catalog/gateway-services/:gateway`: the services a terminating or
 * ingress gateway is linked to.
 */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { nearArg } from "./coordinate.ts";
import { cachedCall } from "./cached.ts";
import { nodeMetaFilter, tagFilter } from "./filters.ts";
import { parseBoolParam } from "./query.ts";
import { checkServiceNodesAnswer, serviceNodesAnswer } from "./listing.ts";

function serviceParam(c: Context): string {
  const v = c.req.param("service") ?? "";
  if (v === "") throw new HttpError(400, "Missing service name");
  return v;
}

export function connectCatalogRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/catalog/gateway-services/:gateway", (c) => {
    const gateway = c.req.param("gateway") ?? "";
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Catalog.GatewayServices", { ServiceName: gateway }, q), (rows, q) => json(c, rows, q));
  });

  app.get("/v1/catalog/connect/:service", (c) => {
    const name = serviceParam(c);
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Catalog.ConnectServiceNodes", { ServiceName: name, ...nearArg(url, api) }, q), (rows, q) => {
      let views = tagFilter(rows, url, (r) => r.service.Tags);
      views = nodeMetaFilter(views, url, (r) => r.node.Meta);
      return serviceNodesAnswer(c, api, q, views);
    });
  });

  app.get("/v1/health/connect/:service", (c) => {
    const name = serviceParam(c);
    const url = urlOf(c);
    const passing = parseBoolParam(url.searchParams.get("passing"), "passing");
    const q = queryOptions(c, api);
    return reply(c, q, cachedCall(c, api, q, "Health.ConnectServiceNodes", { ServiceName: name, ...nearArg(url, api) }), (rows, q) => {
      let out = tagFilter(rows, url, (r) => r.Service.Tags);
      out = nodeMetaFilter(out, url, (r) => r.Node.Meta);
      if (passing) out = out.filter((r) => r.Checks.every((ch) => ch.Status === "passing"));
      return checkServiceNodesAnswer(c, api, q, out);
    });
  });
}
