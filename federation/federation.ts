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
import { primaryForwardingTable } from "./primary.ts";
import { ConfigReplicator, type ReplicationStatus } from "./replication.ts";
import { CAReplicator } from "./ca_replication.ts";
import { formatClaim, parseClaim, PRIMARY_TAG, type PrimaryClaim, saveClaim, supersedes } from "./primary_state.ts";
import { inProcessRpc } from "../src/rpc/inprocess.ts";
import type { Rpc } from "../src/rpc/types.ts";
import { type EndpointTable, endpoints } from "../src/server/endpoints/table.ts";
import type { Server } from "../src/server/server.ts";

export interface FederationOptions {
  readonly server: Server;
  /** The primary datacenter (`primary_datacenter`); "" or our own: we are the primary. */
  readonly primary: string;
  /** A promotion kept from before a restart; it wins over `primary` when its epoch is higher. */
  readonly claim?: PrimaryClaim | null;
  /** Where the primary claim is kept (null: not kept). */
  readonly claimFile?: string | null;
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
  /** The server's endpoint table with primary-owned writes forwarded; every transport of this server uses it. */
  readonly table: EndpointTable;
  /** Config entries (and intentions) from the primary, on the leader of a secondary. */
  readonly replicator: ConfigReplicator;
  /** The primary's roots and this datacenter's intermediate, on the leader of a secondary. */
  readonly caReplicator: CAReplicator;
  private claim: PrimaryClaim;
  private readonly o: FederationOptions;
  private offLeadership: (() => void) | null = null;

  constructor(o: FederationOptions) {
    this.o = o;
    this.datacenter = o.server.config.datacenter;
    const configured: PrimaryClaim = { datacenter: o.primary === "" ? this.datacenter : o.primary, epoch: 0 };
    this.claim = o.claim && o.claim.epoch > 0 ? o.claim : configured;
    o.server.ca.secondary = this.claim.datacenter !== this.datacenter;
    this.table = primaryForwardingTable(endpoints, () => this.claim.datacenter, () => this.rpc);
    this.links = new DatacenterLinks({
      datacenter: this.datacenter,
      connector: o.connector,
      ...(o.staticUrls ? { staticUrls: o.staticUrls } : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    if (o.wan) this.links.followWan(o.wan);
    this.rpc = new FederatedRpc(this.datacenter, inProcessRpc(o.server, this.table), this.links);
    this.responder = serveDatacenter({
      nc: o.nc,
      server: o.server,
      table: this.table,
      onBadRequest: (subject, reason) => o.log?.("warn", `federation: refused a request on ${subject}: ${reason}`),
    });
    o.server.remote = { rpc: this.rpc, datacenters: () => this.datacenters(), primary: () => this.claim.datacenter };
    this.replicator = new ConfigReplicator({ server: o.server, rpc: this.rpc, primary: () => this.claim.datacenter, ...(o.log ? { log: o.log } : {}) });
    this.caReplicator = new CAReplicator({ server: o.server, rpc: this.rpc, primary: () => this.claim.datacenter, ...(o.log ? { log: o.log } : {}) });
    // Replication is a leader duty (one writer per datacenter).
    const follow = (leader: boolean) => {
      if (leader) {
        this.replicator.start();
        this.caReplicator.start();
      } else {
        void this.replicator.stop();
        void this.caReplicator.stop();
      }
    };
    this.offLeadership = o.server.leadership.onChange(follow);
    follow(o.server.isLeader());
    if (o.wan) this.followPrimaryClaims(o.wan);
  }

  /** This datacenter's NATS (where this server answers; WAN gossip over NATS listens there too). */
  get ownNats(): NatsConnection {
    return this.o.nc;
  }

  /** The (primary, epoch) this server follows. */
  get primaryClaim(): PrimaryClaim {
    return this.claim;
  }

  /**
   * Makes this datacenter the primary (Consul issue 7817): a claim with an
   * epoch above every one known, kept on disk and spread by WAN gossip; the
   * other datacenters (and the old primary when it returns) adopt it.
   */
  async promote(): Promise<PrimaryClaim> {
    let top = this.claim.epoch;
    for (const m of this.o.wan?.members() ?? []) top = Math.max(top, parseClaim(m.Tags[PRIMARY_TAG])?.epoch ?? 0);
    await this.adopt({ datacenter: this.datacenter, epoch: top + 1 });
    return this.claim;
  }

  private followPrimaryClaims(wan: GossipPool): void {
    const advertise = () => {
      const tags = wan.localMember().Tags;
      if (tags[PRIMARY_TAG] !== formatClaim(this.claim)) wan.setTags({ ...tags, [PRIMARY_TAG]: formatClaim(this.claim) });
    };
    advertise();
    const look = () => {
      for (const m of wan.members()) {
        const c = parseClaim(m.Tags[PRIMARY_TAG]);
        if (c && supersedes(c, this.claim)) void this.adopt(c);
      }
    };
    look();
    const off = wan.on((e) => {
      if (e.type === "member-join" || e.type === "member-update") look();
    });
    this.offClaims = () => off();
    this.advertiseClaim = advertise;
  }

  private offClaims: (() => void) | null = null;
  private advertiseClaim: (() => void) | null = null;

  private async adopt(c: PrimaryClaim): Promise<void> {
    const was = this.claim.datacenter;
    this.claim = c;
    this.o.server.ca.secondary = c.datacenter !== this.datacenter;
    this.advertiseClaim?.();
    await saveClaim(this.o.claimFile ?? null, c).catch((err: unknown) => this.o.log?.("warn", `federation: cannot keep the primary claim: ${(err as Error).message}`));
    if (was !== c.datacenter) {
      this.o.log?.("info", `federation: primary datacenter is now ${c.datacenter} (epoch ${c.epoch}, was ${was})`);
      this.replicator.reset();
      this.caReplicator.reset();
    }
  }

  /** The datacenter authoritative for config entries, intentions and the CA root. */
  get primary(): string {
    return this.claim.datacenter;
  }

  replicationStatus(): ReplicationStatus & { CA: ReturnType<CAReplicator["status"]> } {
    return { ...this.replicator.status(), CA: this.caReplicator.status() };
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
    // What other datacenters sent this server (counts since it started): refused messages and bad frames are adversarial or broken peers.
    const rs = this.responder.stats;
    out.push(
      { name: "consulate.federation.rpc.messages", value: rs.messages, labels: {} },
      { name: "consulate.federation.rpc.calls", value: rs.calls, labels: {} },
      { name: "consulate.federation.rpc.refused", value: rs.refused, labels: {} },
      { name: "consulate.federation.rpc.bad_frames", value: rs.badFrames, labels: {} },
      { name: "consulate.federation.rpc.parted_replies", value: rs.partedReplies, labels: {} },
    );
    const r = this.replicator.status();
    if (r.Enabled) {
      out.push(
        { name: "consulate.replication.config_entries.index", value: r.ReplicatedIndex, labels: { source: r.SourceDatacenter } },
        { name: "consulate.replication.config_entries.lag_ms", value: r.LagMs, labels: { source: r.SourceDatacenter } },
        { name: "consulate.replication.config_entries.healthy", value: r.LagMs === 0 && r.LastSuccess !== "0001-01-01T00:00:00Z" ? 1 : 0, labels: { source: r.SourceDatacenter } },
      );
    }
    return out;
  }

  async stop(): Promise<void> {
    if (this.o.server.remote?.rpc === this.rpc) this.o.server.remote = null;
    this.offLeadership?.();
    this.offClaims?.();
    await this.replicator.stop();
    await this.caReplicator.stop();
    await this.responder.stop();
    await this.links.close();
  }
}
