/**
 * ServerCluster: a server's membership in its datacenter's cluster on NATS.
 * It owns the KV bucket with the leader lease and the server registry,
 * serves leader-only calls while this server leads, and forwards them to the
 * leader otherwise. The shared log itself is the JetStreamLog.
 */
import { Kvm, type KV } from "@nats-io/kv";
import { jetstream, StorageType } from "@nats-io/jetstream";
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { callLeader, serveLeader } from "./leader_rpc.ts";
import { LeaderLease } from "./lease.ts";
import { ServerRegistry, type ServerRecord } from "./registry.ts";
import { whileTransient } from "../log/jetstream_resources.ts";
import { clusterNames, type ClusterNames } from "../log/jetstream_names.ts";
import type { ClusterHooks, ClusterRole, RaftPeer } from "../server/cluster_role.ts";

export interface ServerClusterOptions {
  readonly nc: NatsConnection;
  readonly self: ServerRecord;
  /** KV bucket replicas (as the log's). Default 3. */
  readonly replicas?: number;
  readonly leaseTtlMs?: number;
  /** No server campaigns before this many servers have registered (Consul's bootstrap_expect). */
  readonly bootstrapExpect?: number;
  /** When the log last heard from JetStream, to report the freshest contact. */
  readonly logContact?: () => number;
}

export class ServerCluster implements ClusterRole {
  readonly names: ClusterNames;
  readonly #nc: NatsConnection;
  readonly #kv: KV;
  readonly #self: ServerRecord;
  readonly #registry: ServerRegistry;
  readonly #lease: LeaderLease;
  readonly #logContact: () => number;
  #hooks: ClusterHooks | null = null;
  #leaderSub: Subscription | null = null;

  private constructor(opts: ServerClusterOptions, kv: KV) {
    this.#nc = opts.nc;
    this.#kv = kv;
    this.#self = opts.self;
    this.names = clusterNames(opts.self.Datacenter);
    this.#registry = new ServerRegistry(kv);
    this.#logContact = opts.logContact ?? (() => 0);
    const expect = opts.bootstrapExpect ?? 0;
    this.#lease = new LeaderLease({
      kv,
      self: { ID: opts.self.ID, Node: opts.self.Node, Address: opts.self.Address },
      ...(opts.leaseTtlMs !== undefined ? { ttlMs: opts.leaseTtlMs } : {}),
      mayLead: () => this.#registry.size() >= expect,
      onChange: (leader) => this.#onLease(leader),
    });
  }

  /** Opens (creating when missing) the datacenter's KV bucket. */
  static async open(opts: ServerClusterOptions): Promise<ServerCluster> {
    const names = clusterNames(opts.self.Datacenter);
    const kv = await whileTransient(Date.now() + 30_000, () =>
      // Short requests: a lease renewal that hangs for the client's default 5 s would outlive the lease.
      new Kvm(jetstream(opts.nc, { timeout: Math.min(2_000, Math.max(250, Math.floor((opts.leaseTtlMs ?? 3_000) / 3))) })).create(names.kv, {
        replicas: opts.replicas ?? 3,
        history: 1,
        storage: StorageType.File,
      }),
    );
    return new ServerCluster(opts, kv);
  }

  async start(hooks: ClusterHooks): Promise<void> {
    this.#hooks = hooks;
    await this.#registry.start(this.#self);
    this.#lease.start();
  }

  async stop(leave: boolean): Promise<void> {
    await this.#lease.stop();
    this.#leaderSub?.unsubscribe();
    this.#leaderSub = null;
    await this.#registry.stop(leave);
  }

  holdsLease(): boolean {
    return this.#lease.isLeader();
  }

  leader(): RaftPeer | null {
    return this.#lease.holder();
  }

  peers(): RaftPeer[] {
    return this.#registry.list().map((r) => ({ ID: r.ID, Node: r.Node, Address: r.Address }));
  }

  lastContact(): number {
    return Math.max(this.#lease.lastContact(), this.#logContact());
  }

  callLeader(method: string, args: unknown): Promise<unknown> {
    return callLeader(this.#nc, this.names.rpc, method, args);
  }

  removePeer(by: { readonly id?: string; readonly address?: string }): Promise<boolean> {
    return this.#registry.remove(by);
  }

  #onLease(leader: boolean): void {
    if (leader) {
      this.#leaderSub ??= serveLeader(this.#nc, this.names.rpc, (method, args) => this.#hooks!.serveLeader(method, args));
    } else {
      this.#leaderSub?.unsubscribe();
      this.#leaderSub = null;
    }
    this.#hooks?.onLeadership(leader);
  }
}
