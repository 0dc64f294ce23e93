/** `/v1/status/*` (Consul's agent/status_endpoint.go): answered by a server, over RPC. */
import type { Hono } from "hono";
import { type ApiContext, json, queryOptions } from "./context.ts";

export function statusRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/status/leader", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("Status.Leader", {}, q), q);
  });
  app.get("/v1/status/peers", async (c) => {
    const q = queryOptions(c, api);
    return json(c, await api.rpc.call("Status.Peers", {}, q), q);
  });
}
