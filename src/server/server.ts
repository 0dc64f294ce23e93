/**
 * A Consulate server: the state machine fed by a log. Writes become log
 * commands and return once applied; reads come from the state store, blocking
 * when asked. Leader duties of a single server (session TTLs, tombstone
 * reaping, keeping its own node registered) run here too.
 */
import { type BlockingOptions, blockingQuery, Deadlines, type QueryResult } from "./blocking.ts";
import { CAManager, type ConnectOptions } from "./ca_manager.ts";
import { ACL_DISABLED, type AclSettings, builtinPolicies, builtinTokens, ServerAcl } from "./acl.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { ClusterRole, RaftPeer } from "./cluster_role.ts";
import { AclTokenReaper } from "./acl_reaper.ts";
import { GatewayController } from "./gateway_controller.ts";
import { Leadership } from "./leadership.ts";
import { SessionDuty } from "./session_duty.ts";
import { SessionTimers } from "./session_timers.ts";
import type { GossipPool } from "../gossip/mod.ts";
import type { RemoteDatacenters } from "./remote.ts";
import { CoordinateBatcher, type CoordinateBatchOptions } from "./coordinates.ts";
import type { Log, LogSnapshot } from "../log/log.ts";
import type { RequestOptions } from "../rpc/types.ts";
import { type ApplyResult, type Command, decodeCommand, type FencedCommand, MessageType, StateStore } from "../state/mod.ts";
import { decodeSnapshot } from "../state/snapshot.ts";
import { encodeBase64 } from "../structs/json.ts";
import { CommandWriter } from "./command_writer.ts";
import { ApplyError, SnapshotStateError } from "./errors.ts";
import { LogCompactor } from "./log_compactor.ts";
import { ReadGate } from "./read_gate.ts";
import { isSelfRegistered, selfRegistration } from "./self_registration.ts";
import { TombstoneReaper } from "./tombstone_reaper.ts";

export { ApplyError, SnapshotStateError } from "./errors.ts";

export interface ServerConfig {
  readonly datacenter: string;
  readonly nodeName: string;
  readonly nodeId: string;
  /** Address other nodes reach this one on (catalog Address, status/leader). */
  readonly advertiseAddr: string;
  readonly serverPort: number;
  readonly log: Log;
  readonly clock?: Clock;
  /** Entries between snapshots (Consul's SnapshotThreshold). */
  readonly snapshotThreshold?: number;
  /** Where the server reports what failed in the background and is being retried (a log snapshot). */
  readonly warn?: (msg: string) => void;
  readonly tombstoneTtlMs?: number;
  readonly nodeMeta?: Record<string, string>;
  /**
   * What intentions decide when none matches (`default_intention_policy`);
   * unset follows the ACL default, which is allow while ACLs are off.
   */
  readonly defaultIntentionPolicy?: "allow" | "deny";
  /** Batching of coordinate updates (Consul's coordinate_update_* settings). */
  readonly coordinates?: CoordinateBatchOptions;
  /** Connect (service mesh) and its CA; on by default. */
  readonly connect?: ConnectOptions;

  /** The `acl` block: off unless enabled. */
  readonly acl?: AclSettings;

  /** The cluster this server is one of (its log is then shared); absent for a single server. */
  readonly cluster?: ClusterRole;
}

export class Server {
  readonly state = new StateStore();
  readonly config: ServerConfig;
  readonly clock: Clock;
  private readonly log: Log;
  private readonly deadlines = new Deadlines();
  private readonly writer: CommandWriter;
  private readonly compactor: LogCompactor;
  private readonly reads: ReadGate;
  private readonly tombstones: TombstoneReaper;
  readonly sessions: SessionTimers;
  private readonly sessionDuty: SessionDuty;
  /** Pending coordinate updates, written to the log in batches. */
  readonly coordinates: CoordinateBatcher;
  /** The Connect CA: bootstrap, rotation and pruning are leader duties; signing is any server's. */
  readonly ca: CAManager;
  /** Token resolution and the ACL settings. */
  readonly acl: ServerAcl;
  /** Deletes expired tokens while this server leads. */
  private readonly aclReaper: AclTokenReaper;
  /** Writes the Status of api-gateway and route entries (a leader duty). */
  readonly gatewayController: GatewayController;

  /** Whether this server runs the leader-only duties now (always, for a single server). */
  readonly leadership: Leadership;
  readonly cluster: ClusterRole | null;
  private stopped = false;
  /** Whether a query parked since `restores` must answer now (stopped, or state restored). */
  private epoch: { readonly restores: number; readonly over: () => boolean } | null = null;
  /**
   * The gossip pools of the agent running this server (user events and
   * keyring operations go through them); null without gossip.
   */
  pools: { readonly lan: GossipPool; readonly wan: GossipPool | null } | null = null;
  /** auto_encrypt.allow_tls: what AutoEncrypt.Sign tells client agents; null when it is off. */
  autoEncrypt: { manualCaRoots(): string[]; verifyServerHostname(): boolean } | null = null;
  /** Other datacenters, once the agent is federated (federation/); null for a datacenter alone. */
  remote: RemoteDatacenters | null = null;

  constructor(config: ServerConfig) {
    this.config = config;
    this.clock = config.clock ?? systemClock;
    this.log = config.log;
    this.cluster = config.cluster ?? null;
    const cluster = this.cluster;
    this.leadership = new Leadership(cluster ? () => cluster.holdsLease() : null);
    const stopped = () => this.stopped;
    this.compactor = new LogCompactor({
      log: this.log,
      state: this.state,
      threshold: config.snapshotThreshold ?? 16_384,
      keepsSnapshot: () => !this.cluster || this.isLeader(),
      stopped,
      clock: this.clock,
      ...(config.warn ? { warn: config.warn } : {}),
    });
    this.writer = new CommandWriter(this.log, stopped, () => this.compactor.maybe());
    this.reads = new ReadGate({
      cluster,
      log: this.log,
      clock: this.clock,
      stopped,
      isLeader: () => this.isLeader(),
      barrier: () => this.write({ Type: MessageType.Barrier, Now: this.clock.now() }),
    });
    this.tombstones = new TombstoneReaper({
      clock: this.clock,
      ttlMs: config.tombstoneTtlMs ?? 15 * 60_000,
      lastApplied: () => this.state.lastApplied,
      active: () => !this.stopped && this.isLeader(),
      reap: (index, now) => void this.leaderWrite({ Type: MessageType.Tombstone, Now: now, ReapIndex: index }).catch(() => {}),
    });
    this.sessions = new SessionTimers(this.clock, (id) => {
      this.leaderWrite({ Type: 3, Now: this.clock.now(), Op: "destroy", ID: id }).catch(() => {});
    });
    this.sessionDuty = new SessionDuty(this.sessions, this.state, () => this.isLeader());
    this.coordinates = new CoordinateBatcher((cmd) => this.mustWrite(cmd), this.clock, config.coordinates);
    this.acl = new ServerAcl(this.state, config.acl ?? ACL_DISABLED, config.datacenter, () => this.clock.now(), () => this.remote);
    this.aclReaper = new AclTokenReaper({
      clock: this.clock,
      tables: () => this.state.t,
      enabled: () => this.acl.enabled,
      isLeader: () => this.isLeader() && !this.stopped,
      reapsGlobal: () => this.acl.isPrimary(),
      deleteTokens: (ids) => this.leaderWrite({ Type: MessageType.ACLTokenDelete, Now: this.clock.now(), Op: "token-delete", AccessorIDs: ids }),
    });
    this.gatewayController = new GatewayController({ state: this.state, clock: this.clock, isLeader: () => this.isLeader(), write: (cmd) => this.mustWrite(cmd) });
    this.ca = new CAManager(
      { state: this.state, clock: this.clock, datacenter: config.datacenter, writeIndexed: (cmd) => this.writeIndexed(cmd) },
      config.connect,
    );
  }

  /** Recovers state from the log and takes up leader duties. */
  async start(): Promise<void> {
    const recovered = await this.log.open();
    if (recovered.snapshot) this.state.restore(recovered.snapshot.data);
    const base = this.state.lastApplied;
    for (const entry of recovered.entries) {
      if (entry.index > base) this.state.apply(entry.index, decodeCommand(entry.data), (entry.sub ?? 0) > 0);
    }
    this.log.onCommit((entry) => {
      const cmd = decodeCommand(entry.data);
      const result = this.state.apply(entry.index, cmd, (entry.sub ?? 0) > 0);
      this.writer.committed(entry.index, result);
      this.afterApply(cmd);
      if (this.cluster && entry.more !== true) this.compactor.maybe();
      return result;
    });
    this.log.onRestore?.((snapshot) => this.installSnapshot(snapshot));
    if (this.cluster) {
      await this.cluster.start({
        onLeadership: (leader) => this.onLeadership(leader),
        serveLeader: (method, args) => this.serveLeader(method, args),
      });
    } else {
      this.sessionDuty.rearm();
    }
    await this.registerSelf();
    this.tombstones.start();
    if (this.acl.enabled) this.aclReaper.start();
    this.coordinates.start();
    if (this.cluster) {
      // CA bootstrap, rotation and pruning follow the lease (a new leader starts them once fenced).
      this.leadership.onChange((leader) => {
        if (leader) {
          this.gatewayController.poke();
          void this.ca.start();
          void this.initializeAcl().catch(() => {});
        } else this.ca.stop();
      });
      if (this.isLeader()) await Promise.all([this.ca.start(), this.initializeAcl()]);
    } else {
      await Promise.all([this.ca.start(), this.initializeAcl()]);
    }
    this.gatewayController.poke();
  }

  /**
   * The leader's ACL set-up (Consul's initializeACLs): the built-in policies,
   * the anonymous token and `initial_management`, each written only if missing.
   */
  private async initializeAcl(): Promise<void> {
    if (!this.acl.enabled) return;
    const now = this.clock.now();
    await this.mustWrite({ Type: MessageType.ACLPolicySet, Now: now, Op: "policy-set", Policies: builtinPolicies(now), IfMissing: true });
    await this.mustWrite({ Type: MessageType.ACLTokenSet, Now: now, Op: "token-set", Tokens: builtinTokens(this.acl.settings, now, this.acl.isPrimary()), IfMissing: true });
  }

  /** Whether this server runs the leader-only duties now. */
  isLeader(): boolean {
    return this.leadership.isLeader();
  }

  /** The leader's server address ("ip:port"), "" when there is none. */
  leaderAddress(): string {
    if (!this.cluster) return `${this.config.advertiseAddr}:${this.config.serverPort}`;
    return this.cluster.leader()?.Address ?? "";
  }

  /** The servers of this datacenter (Consul's Raft configuration). */
  peers(): RaftPeer[] {
    if (!this.cluster) return [{ ID: this.config.nodeId, Node: this.config.nodeName, Address: this.leaderAddress() }];
    return this.cluster.peers();
  }

  /** What a read with these options waits for before it runs (see ReadGate.wait); null: nothing. */
  readGate(opts: RequestOptions): Promise<void> | null {
    return this.reads.wait(opts);
  }

  /** X-Consul-KnownLeader and X-Consul-LastContact for a read (absent fields: a single server). */
  readMeta(opts: RequestOptions): { knownLeader?: boolean; lastContact?: number } {
    return this.reads.meta(opts);
  }

  /** Milliseconds since this server last heard from the cluster (0 for a single server). */
  lastContactMs(): number {
    return this.reads.lastContactMs();
  }

  /** Restarts a session's TTL timer, which runs on the leader (Consul forwards renewals there). */
  async renewSession(id: string, ttl: string): Promise<void> {
    if (!this.cluster || this.isLeader()) {
      this.sessions.arm(id, ttl);
      return;
    }
    await this.cluster.callLeader("Session.Renew", { SessionID: id, TTL: ttl });
  }

  /** Appends a command and returns what `apply` decided. */
  async write(cmd: Command): Promise<ApplyResult> {
    return (await this.writeIndexed(cmd)).result;
  }

  /** Like `write`, also answering the log index the command was applied at. */
  writeIndexed(cmd: Command): Promise<{ index: number; result: ApplyResult }> {
    return this.writer.writeIndexed(cmd);
  }

  /** Like `write`, but a refused command becomes an ApplyError. */
  async mustWrite(cmd: Command): Promise<ApplyResult & { ok: true }> {
    const r = await this.write(cmd);
    if (!r.ok) throw new ApplyError(r.error);
    return r;
  }

  query<T>(opts: BlockingOptions, topics: readonly string[], run: () => QueryResult<T>): Promise<QueryResult<T>> {
    // A restore replaces the state, whose indexes may go back: parked queries answer at once (Consul's AbandonCh).
    const restores = this.state.restores;
    // One check per restore, shared by every query parked meanwhile.
    let epoch = this.epoch;
    if (epoch === null || epoch.restores !== restores) epoch = this.epoch = { restores, over: () => this.stopped || this.state.restores !== restores };
    return blockingQuery(this.state.hub, this.deadlines, opts, topics, run, epoch.over);
  }

  /**
   * Replaces the whole state with a state snapshot (`state.bin` of an
   * archive) through the log, so every replica applies it at the same index.
   * The snapshot is decoded first: one that does not decode is refused
   * (SnapshotStateError) before anything is written. Then the leader duties
   * are reasserted, as Consul does after a restore, and the log is
   * snapshotted so recovery does not replay the restore entry.
   */
  async restore(state: Uint8Array): Promise<number> {
    try {
      decodeSnapshot(state);
    } catch (err) {
      throw new SnapshotStateError(`failed to read snapshot file: ${(err as Error).message}`, { cause: err });
    }
    await this.mustWrite({ Type: MessageType.Restore, Now: this.clock.now(), State: encodeBase64(state) });
    const index = this.state.lastApplied;
    await this.registerSelf();
    // A snapshot from before the CA existed gets one, as a new leader would make.
    await this.ca.initialize().catch(() => {});
    await this.compactor.now();
    return index;
  }

  lastIndex(): number {
    return this.state.lastApplied;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.ca.stop();
    this.gatewayController.stop();

    this.leadership.lose();
    await this.cluster?.stop(false).catch(() => {});
    this.deadlines.stop();
    this.state.hub.fireAll();
    this.sessions.stopAll();
    this.coordinates.stop();
    this.aclReaper.stop();
    this.tombstones.stop();
    this.compactor.stop();
    await this.compactor.settled();
    await this.log.close();
  }

  private afterApply(cmd: Command): void {
    if (cmd.Type === MessageType.ConfigEntry || cmd.Type === MessageType.Restore) this.gatewayController.poke();
    if (cmd.Type === MessageType.Restore) {
      this.sessionDuty.rearm();
      // The restored state holds another fence: fence again to keep leading.
      if (this.leadership.clustered && this.isLeader()) void this.leadership.gain(() => this.appendFence());
      return;
    }
    this.sessionDuty.applied(cmd);
  }

  private onLeadership(leader: boolean): void {
    if (leader) {
      void this.leadership.gain(() => this.appendFence()).then(() => this.sessionDuty.rearm());
    } else {
      this.leadership.lose();
      this.sessions.stopAll();
    }
  }

  private appendFence(): Promise<number> {
    return this.writer.appendOnly({ Type: MessageType.Barrier, Now: this.clock.now(), Leader: { ID: this.config.nodeId, Node: this.config.nodeName } });
  }

  /** A leader-only command: refused here when not leading, and in `apply` once another leader has fenced. */
  private async leaderWrite(cmd: Command): Promise<ApplyResult> {
    if (!this.isLeader()) throw new ApplyError("Not the cluster leader");
    const fenced: FencedCommand = { ...cmd, Fence: this.leadership.fence() };
    return this.write(fenced);
  }

  /** Calls other servers forward to this one while it leads. */
  private async serveLeader(method: string, args: unknown): Promise<unknown> {
    if (!this.isLeader()) throw new ApplyError("No cluster leader");
    if (method === "Session.Renew") return this.sessionDuty.serveRenew(args);
    throw new ApplyError(`rpc error: unknown leader method ${method}`);
  }

  /** The log skipped ahead to a snapshot (this replica missed compacted entries). */
  private installSnapshot(snapshot: LogSnapshot): void {
    this.state.restore(snapshot.data);
    this.writer.forget();
    this.sessionDuty.rearm();
  }

  /** The leader keeps its own node and serfHealth check in the catalog. */
  private async registerSelf(): Promise<void> {
    if (isSelfRegistered(this.state.t, this.config)) return;
    await this.mustWrite(selfRegistration(this.config, this.clock.now()));
  }
}
