/** `/v1/catalog/*` (Consul's agent/catalog_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, applyFilter, json, queryOptions, readJson, reply, urlOf } from "./context.ts";
import { decodeDeregister, decodeRegister } from "./decode_catalog.ts";
import { HttpError } from "./errors.ts";
import { nearArg } from "./coordinate.ts";
import { cachedCall, cachedRead, wantsCache } from "./cached.ts";
import { nodeJson, nodeServiceJson } from "./render.ts";
import { serviceNodesAnswer } from "./listing.ts";
import { nodeMetaFilter, nodeMetaPairs, tagFilter } from "./filters.ts";
import { addressView } from "./translate_addrs.ts";
import { defaultOptions } from "../rpc/mod.ts";
import { nodeSchema, nodeServiceSchema } from "../filter/mod.ts";

function param(c: Context, name: string, what: string): string {
  const v = c.req.param(name) ?? "";
  if (v === "") throw new HttpError(400, `Missing ${what}`);
  return v;
}

export function catalogRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/catalog/register", async (c) => {
    const q = queryOptions(c, api);
    const req = decodeRegister(await readJson(c), api.agent.datacenter);
    return json(c, await api.rpc.call("Catalog.Register", req, q), q);
  });

  app.put("/v1/catalog/deregister", async (c) => {
    const q = queryOptions(c, api);
    const req = decodeDeregister(await readJson(c));
    return json(c, await api.rpc.call("Catalog.Deregister", req, q), q);
  });

  // Reachable datacenters nearest first, as the servers' WAN pool and links tell (a client agent asks a server).
  app.get("/v1/catalog/datacenters", async (c) => {
    const opts = defaultOptions(api.agent.datacenter);
    if (!wantsCache(c, api)) return json(c, await api.rpc.call("Catalog.ListDatacenters", {}, opts));
    // Consul's simple cache type for datacenters: the list carries no index.
    const fetch = async () => ({ index: 1, value: await api.rpc.call("Catalog.ListDatacenters", {}, opts) });
    return json(c, (await cachedRead(c, api, queryOptions(c, api), "simple", "Catalog.ListDatacenters", fetch)).value);
  });

  app.get("/v1/catalog/nodes", (c) => {
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Catalog.ListNodes", nearArg(url, api), q), (nodes, q) => {
      const rows = applyFilter(nodeMetaFilter(nodes, url, (n) => n.Meta), q, nodeSchema);
      const view = addressView(api, q.datacenter);
      return json(c, rows.map((n) => nodeJson(view.node(n))), q);
    });
  });

  app.get("/v1/catalog/services", (c) => {
    const url = urlOf(c);
    const q = queryOptions(c, api);
    const args = { NodeMeta: nodeMetaPairs(url), Filter: q.filter };
    return reply(c, q, cachedCall(c, api, q, "Catalog.ListServices", args), (byName, q) => json(c, byName, q));
  });

  app.get("/v1/catalog/service/:service", (c) => {
    const name = param(c, "service", "service name");
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return reply(c, q, cachedCall(c, api, q, "Catalog.ServiceNodes", { ServiceName: name, ...nearArg(url, api) }), (rows, q) => {
      let views = tagFilter(rows, url, (r) => r.service.Tags);
      views = nodeMetaFilter(views, url, (r) => r.node.Meta);
      return serviceNodesAnswer(c, api, q, views);
    });
  });

  app.get("/v1/catalog/node/:node", (c) => {
    const node = param(c, "node", "node name");
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Catalog.NodeServices", { Node: node }, q), (v, q) => {
      if (!v) return json(c, null, q);
      const view = addressView(api, q.datacenter);
      const services: Record<string, unknown> = {};
      for (const s of applyFilter(v.services, q, nodeServiceSchema, (s) => nodeServiceJson(s))) services[s.ID] = nodeServiceJson(view.service(s));
      return json(c, { Node: nodeJson(view.node(v.node)), Services: services }, q);
    });
  });

  app.get("/v1/catalog/node-services/:node", (c) => {
    const node = param(c, "node", "node name");
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Catalog.NodeServices", { Node: node }, q), (v, q) => {
      if (!v) return json(c, { Node: null, Services: [] }, q);
      const view = addressView(api, q.datacenter);
      const services = applyFilter(v.services, q, nodeServiceSchema, (s) => nodeServiceJson(s)).map((s) => nodeServiceJson(view.service(s)));
      return json(c, { Node: nodeJson(view.node(v.node)), Services: services }, q);
    });
  });
}
