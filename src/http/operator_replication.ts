/**
 * `GET /v1/operator/replication` (Consulate's own): how this server's
 * replica of the primary datacenter's config entries and intentions stands —
 * source, replicated index, last success and error, lag — with the fields of
 * Consul's `/v1/acl/replication`. A server that is not federated answers
 * Enabled=false.
 */
import type { Hono } from "hono";
import { type ApiContext, json, localServer } from "./context.ts";

export function operatorReplicationRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/operator/replication", (c) => {
    localServer(api);
    if (!api.federation) return json(c, { Enabled: false, Running: false, SourceDatacenter: api.agent.primaryDatacenter, ReplicationType: "config-entries", ReplicatedIndex: 0 });
    return json(c, api.federation.replicationStatus());
  });
}
