/** `/v1/catalog/*` (Consul's agent/catalog_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, applyFilter, checkDatacenter, json, queryOptions, read, readJson, urlOf } from "./context.ts";
import { decodeDeregister, decodeRegister } from "./decode_catalog.ts";
import { HttpError } from "./errors.ts";
import { nodeJson, nodeServiceJson, serviceNodeWire } from "./render.ts";
import { nodeMetaFilter, tagFilter } from "./filters.ts";
import { catalogRead, MessageType, nodeTopic, serviceTopic, Topic } from "../state/mod.ts";
import { serviceNodeJson } from "../structs/catalog.ts";
import { nodeSchema, nodeServiceSchema, serviceNodeSchema } from "../filter/mod.ts";

function param(c: Context, name: string, what: string): string {
  const v = c.req.param(name) ?? "";
  if (v === "") throw new HttpError(400, `Missing ${what}`);
  return v;
}

export function catalogRoutes(app: Hono, api: ApiContext): void {
  const t = () => api.server.state.t;

  app.put("/v1/catalog/register", async (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    const req = decodeRegister(await readJson(c), api.agent.datacenter);
    await api.server.mustWrite({ Type: MessageType.Register, Now: api.server.clock.now(), Req: req });
    return json(c, true, q);
  });

  app.put("/v1/catalog/deregister", async (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    const req = decodeDeregister(await readJson(c));
    await api.server.mustWrite({ Type: MessageType.Deregister, Now: api.server.clock.now(), Req: req });
    return json(c, true, q);
  });

  app.get("/v1/catalog/datacenters", (c) => json(c, [api.agent.datacenter]));

  app.get("/v1/catalog/nodes", (c) => {
    const url = urlOf(c);
    return read(c, api, [Topic.Nodes], () => catalogRead.listNodes(t()), (nodes, q) => {
      const rows = applyFilter(nodeMetaFilter(nodes, url, (n) => n.Meta), q, nodeSchema);
      return json(c, rows.map(nodeJson), q);
    });
  });

  app.get("/v1/catalog/services", (c) => {
    const url = urlOf(c);
    return read(c, api, [Topic.Services, Topic.Nodes], () => catalogRead.listServices(t()), (byName, q) => {
      const out: Record<string, string[]> = {};
      for (const [name, rows] of byName) {
        let views = rows.map((r) => ({ node: t().nodes.get(r.Node)!, svc: r.Service }));
        views = nodeMetaFilter(views, url, (v) => v.node.Meta);
        views = applyFilter(views, q, serviceNodeSchema, (v) => serviceNodeJson(v.node, v.svc));
        if (views.length === 0) continue;
        out[name] = [...new Set(views.flatMap((v) => v.svc.Tags))];
      }
      return json(c, out, q);
    });
  });

  app.get("/v1/catalog/service/:service", (c) => {
    const name = param(c, "service", "service name");
    const url = urlOf(c);
    return read(c, api, [serviceTopic(name)], () => catalogRead.serviceNodes(t(), name), (rows, q) => {
      let views = tagFilter(rows, url, (r) => r.service.Tags);
      views = nodeMetaFilter(views, url, (r) => r.node.Meta);
      const out = applyFilter(views, q, serviceNodeSchema, (r) => serviceNodeJson(r.node, r.service)).map((r) => serviceNodeWire(r.node, r.service));
      return json(c, out, q);
    });
  });

  app.get("/v1/catalog/node/:node", (c) => {
    const node = param(c, "node", "node name");
    return read(c, api, [nodeTopic(node)], () => catalogRead.nodeWithServices(t(), node), (v, q) => {
      if (!v) return json(c, null, q);
      const services: Record<string, unknown> = {};
      for (const s of applyFilter(v.services, q, nodeServiceSchema, (s) => nodeServiceJson(s))) services[s.ID] = nodeServiceJson(s);
      return json(c, { Node: nodeJson(v.node), Services: services }, q);
    });
  });

  app.get("/v1/catalog/node-services/:node", (c) => {
    const node = param(c, "node", "node name");
    return read(c, api, [nodeTopic(node)], () => catalogRead.nodeWithServices(t(), node), (v, q) => {
      if (!v) return json(c, { Node: null, Services: [] }, q);
      const services = applyFilter(v.services, q, nodeServiceSchema, (s) => nodeServiceJson(s)).map((s) => nodeServiceJson(s));
      return json(c, { Node: nodeJson(v.node), Services: services }, q);
    });
  });
}
