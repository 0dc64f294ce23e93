/**
 * Federation operator endpoints (Consulate's own):
 *
 * - `GET /v1/operator/replication`: how this server's replica of the primary
 *   datacenter's config entries, intentions and CA stands (source, index,
 *   entries written, last success and error, lag), with the fields of
 *   Consul's `/v1/acl/replication`; Enabled=false when not federated.
 * - `GET /v1/operator/federation`: this datacenter, the primary it follows
 *   and the promotion epoch, and the reachable datacenters with their RTT.
 * - `PUT /v1/operator/federation/promote`: makes this server's datacenter the
 *   primary (see federation/README.md for the procedure).
 */
import type { Hono } from "hono";
import { type ApiContext, json, localServer } from "./context.ts";
import { HttpError } from "./errors.ts";

export function operatorFederationRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/operator/replication", (c) => {
    localServer(api);
    if (!api.federation) return json(c, { Enabled: false, Running: false, SourceDatacenter: api.agent.primaryDatacenter, ReplicationType: "config-entries", ReplicatedIndex: 0 });
    return json(c, api.federation.replicationStatus());
  });

  app.get("/v1/operator/federation", (c) => {
    localServer(api);
    const f = api.federation;
    if (!f) return json(c, { Datacenter: api.agent.datacenter, PrimaryDatacenter: api.agent.primaryDatacenter || api.agent.datacenter, Epoch: 0, Federated: false, Datacenters: [] });
    return json(c, {
      Datacenter: api.agent.datacenter,
      PrimaryDatacenter: f.primaryClaim.datacenter,
      Epoch: f.primaryClaim.epoch,
      Federated: true,
      Datacenters: f.datacenters().map((d) => ({ Datacenter: d.datacenter, RTTMs: Number.isFinite(d.rttMs) ? d.rttMs : null })),
    });
  });

  app.put("/v1/operator/federation/promote", async (c) => {
    localServer(api);
    if (!api.federation) throw new HttpError(400, "This server is not federated: set federation.nats (or nats) so other datacenters can reach it");
    const claim = await api.federation.promote();
    return json(c, { PrimaryDatacenter: claim.datacenter, Epoch: claim.epoch });
  });
}
