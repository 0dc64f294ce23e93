/**
 * A server agent's federation: its answering side on its own datacenter's
 * NATS (the queue group of the datacenter), its links to every other
 * datacenter (NATS client connections to their NATS, addresses from config
 * and WAN gossip), the RPC that routes by `datacenter`, and the list of
 * reachable datacenters by distance.
 *
 * Entry points for other areas (prepared queries, gateways, replication):
 *   - `federation.rpc.call(method, args, { ...opts, datacenter: "dc2" })`
 *     sends any RPC to dc2 (the same `Rpc` as the agent's, so local calls
 *     stay in-process); `Server.remote.rpc` is the same object.
 *   - `federation.datacenters()` lists the reachable datacenters nearest
 *     first with their estimated RTT (`Server.remote.datacenters()`).
 */
import type { NatsConnection } from "@nats-io/transport-node";
import { datacentersByDistance, type DatacenterDistance } from "./datacenters.ts";
import type { LinkLog } from "./link.ts";
import { DatacenterLinks } from "./links.ts";
import { type Responder, serveDatacenter } from "./responder.ts";
import { FederatedRpc } from "./rpc.ts";
import type { GossipPool } from "../src/gossip/mod.ts";
import type { Rpc } from "../src/rpc/types.ts";
import type { Server } from "../src/server/server.ts";

export interface FederationOptions {
  readonly server: Server;
  /** The server's own transport (in-process). */
  readonly local: Rpc;
  /** A connection to this datacenter's NATS (the federation's own, not the log's). */
  readonly nc: NatsConnection;
  /** Opens links to other datacenters. */
  readonly connector: (urls: readonly string[], name: string) => Promise<NatsConnection>;
  readonly staticUrls?: Readonly<Record<string, readonly string[]>>;
  readonly wan: GossipPool | null;
  readonly log?: LinkLog;
}

export class Federation {
  readonly datacenter: string;
  readonly rpc: FederatedRpc;
  readonly links: DatacenterLinks;
  readonly responder: Responder;
  private readonly o: FederationOptions;

  constructor(o: FederationOptions) {
    this.o = o;
    this.datacenter = o.server.config.datacenter;
    this.links = new DatacenterLinks({
      datacenter: this.datacenter,
      connector: o.connector,
      ...(o.staticUrls ? { staticUrls: o.staticUrls } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    if (o.wan) this.links.followWan(o.wan);
    this.rpc = new FederatedRpc(this.datacenter, o.local, this.links);
    this.responder = serveDatacenter({
      nc: o.nc,
      server: o.server,
      onBadRequest: (subject, reason) => o.log?.("warn", `federation: refused a request on ${subject}: ${reason}`),
    });
    o.server.remote = { rpc: this.rpc, datacenters: () => this.datacenters() };
  }

  /** Reachable datacenters, nearest first (this one first). */
  datacenters(): DatacenterDistance[] {
    return datacentersByDistance(this.datacenter, this.o.wan, {
      linkUp: (dc) => (this.links.get(dc) ? this.links.isUp(dc) : null),
      linked: () => this.links.names().filter((dc) => this.links.isUp(dc)),
    });
  }

  /** Gauges for /v1/agent/metrics: one per known datacenter, 1 when reachable. */
  gauges(): { name: string; value: number; labels: Record<string, string> }[] {
    const reachable = new Set(this.datacenters().map((d) => d.datacenter));
    const known = new Set([...reachable, ...this.links.names()]);
    const out: { name: string; value: number; labels: Record<string, string> }[] = [...known].sort().map((dc) => ({ name: "consulate.federation.datacenter.reachable", value: reachable.has(dc) ? 1 : 0, labels: { datacenter: dc } }));
    out.push({ name: "consulate.federation.datacenters.reachable", value: reachable.size, labels: {} });
    return out;
  }

  async stop(): Promise<void> {
    if (this.o.server.remote?.rpc === this.rpc) this.o.server.remote = null;
    await this.responder.stop();
    await this.links.close();
  }
}
