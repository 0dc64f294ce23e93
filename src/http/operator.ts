/** `/v1/operator/raft/*` (Consul's agent/operator_endpoint.go): the servers of the datacenter. */
import type { Hono } from "hono";
import { type ApiContext, json, queryOptions, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";

export function operatorRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/operator/raft/configuration", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Operator.RaftGetConfiguration", {}, q), (value) => json(c, value, q));
  });
  app.delete("/v1/operator/raft/peer", async (c) => {
    const q = queryOptions(c, api);
    const p = urlOf(c).searchParams;
    const id = p.get("id") ?? "";
    const address = p.get("address") ?? "";
    if ((id === "") === (address === "")) {
      throw new HttpError(400, "Must specify either ?id with the server's ID or ?address with IP:port of peer to remove");
    }
    await api.rpc.call("Operator.RaftRemovePeer", { ID: id, Address: address }, q);
    return c.body(null, 200);
  });
}
