/**
 * The Serf layer over the membership core (hashicorp/serf serf.go,
 * delegate.go, event.go, query.go, keymanager.go): member statuses
 * (alive, leaving, left, failed) ordered by Lamport-timed join and leave
 * intents, user events and queries with de-duplication buffers, keyring
 * operations as internal queries answered by every member, reaping of
 * failed and left members, reconnect attempts, and Vivaldi coordinates fed
 * by probe RTTs. This class is the GossipPool the agent drives.
 */
import { DropCounter } from "./drops.ts";
import { BroadcastQueue, queueAndWait } from "./broadcast_queue.ts";
import type { Clock } from "./clock.ts";
import type { GossipConfig } from "./config.ts";
import { retransmitLimit } from "./config.ts";
import type { Coordinate } from "./coordinate.ts";
import { GossipSizeError, JoinError, PoolClosedError } from "./errors.ts";
import type { Keyring } from "./keyring.ts";
import { LamportClock } from "./lamport.ts";
import type { MemberlistDelegate, NodeState } from "./memberlist.ts";
import { Memberlist } from "./memberlist.ts";
import { OUR_VERSIONS } from "./messages.ts";
import type { Envelope } from "./packet.ts";
import type { Random } from "./random.ts";
import { randomInt } from "./random.ts";
import { EventBuffer, QueryBuffer } from "./serf_dedup.ts";
import { answerKeyQuery, type KeyOp, keyQueryPayload, tallyKeyResponses } from "./serf_keyring.ts";
import { checkMeta, emptyStats, matchesFilters, type MemberState, toMember } from "./serf_members.ts";
import type { JoinIntent, LeaveIntent, QueryMsg, QueryResponseMsg, SerfMessage, SerfPushPull, UserEventMsg } from "./serf_messages.ts";
import { SerfCoordinates } from "./serf_coordinates.ts";
import { QueryFlag, SerfType, decodeSerf, decodeTags, encodeSerf, encodeTags } from "./serf_messages.ts";
import type { Address, Transport } from "./transport.ts";
import type { GossipPool, KeyringResponse, Member, MemberEventType, PoolEvent, PoolListener, PoolStats, QueryOptions, QueryResponse } from "./types.ts";
import { WireDecodeError } from "./wire.ts";

export { emptyStats } from "./serf_members.ts";

interface PendingQuery {
  readonly ltime: number;
  readonly responses: Map<string, Uint8Array>;
  readonly expected: number;
  readonly deadline: number;
  timer: unknown;
  finish(): void;
}

type Log = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

/** Serf waits this long for its own leave broadcast to go out. */
const BROADCAST_TIMEOUT_MS = 5000;
/** Internal queries (keyring) start with this and never reach listeners. */
const INTERNAL_PREFIX = "_serf_";

export interface SerfOptions {
  readonly name: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: Transport;
  readonly envelope: Envelope;
  readonly keyring: Keyring | null;
  readonly onKeyringChange?: (keys: string[], primary: string) => void;
  readonly log: Log;
}

export class Serf implements GossipPool, MemberlistDelegate {
  readonly name: string;
  readonly ml: Memberlist;
  private readonly config: GossipConfig;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly envelope: Envelope;
  private readonly transport: Transport;
  private readonly log: Log;
  private readonly statsObj: PoolStats = emptyStats();
  private readonly drops: DropCounter;
  private tags: Record<string, string>;
  private readonly onKeyringChange: ((keys: string[], primary: string) => void) | undefined;

  private readonly memberMap = new Map<string, MemberState>();
  private readonly recentIntents = new Map<string, { leave: boolean; ltime: number }>();
  private readonly lamport = new LamportClock();
  private readonly eventClock = new LamportClock();
  private readonly queryClock = new LamportClock();
  private eventMinTime = 0;
  private queryMinTime = 0;
  private eventJoinIgnore = false;
  private readonly eventBuffer: EventBuffer;
  private readonly queryBuffer: QueryBuffer;
  private readonly intentBroadcasts: BroadcastQueue;
  private readonly eventBroadcasts: BroadcastQueue;
  private readonly queryBroadcasts: BroadcastQueue;
  private readonly pending = new Map<number, PendingQuery>();
  private readonly listeners = new Set<PoolListener>();
  private readonly coords: SerfCoordinates;
  private state: "alive" | "leaving" | "left" | "shutdown" = "alive";
  private reapTimer: unknown = null;
  private reconnectTimer: unknown = null;

  constructor(o: SerfOptions) {
    this.name = o.name;
    this.config = o.config;
    this.clock = o.clock;
    this.random = o.random;
    this.envelope = o.envelope;
    this.transport = o.transport;
    this.log = o.log;
    this.drops = new DropCounter(this.statsObj, o.log, o.clock);
    this.tags = { ...o.tags };
    this.onKeyringChange = o.onKeyringChange;
    checkMeta(this.tags);
    // Serf's clocks start at 1.
    this.lamport.increment();
    this.eventClock.increment();
    this.queryClock.increment();
    this.eventBuffer = new EventBuffer(o.config.eventBufferSize);
    this.queryBuffer = new QueryBuffer(o.config.eventBufferSize);
    const limit = (): number => retransmitLimit(this.config.retransmitMult, this.memberMap.size);
    this.intentBroadcasts = new BroadcastQueue(limit);
    this.eventBroadcasts = new BroadcastQueue(limit);
    this.queryBroadcasts = new BroadcastQueue(limit);
    this.coords = new SerfCoordinates(o.name, o.config.vivaldi, o.random, o.config.disableCoordinates);
    this.ml = new Memberlist({
      name: o.name,
      config: o.config,
      clock: o.clock,
      random: o.random,
      transport: o.transport,
      envelope: o.envelope,
      delegate: this,
      stats: this.statsObj,
      log: o.log,
    });
  }

  start(): void {
    this.ml.start();
    this.reapTimer = this.clock.setTimeout(() => this.reapTick(), this.config.reapIntervalMs);
    this.reconnectTimer = this.clock.setTimeout(() => this.reconnectTick(), this.config.reconnectIntervalMs);
  }

  // ---- facade ------------------------------------------------------------------

  localMember(): Member {
    const m = this.memberMap.get(this.name);
    if (!m) throw new PoolClosedError("The pool has not started");
    return toMember(m);
  }

  members(): Member[] {
    return [...this.memberMap.values()].map(toMember);
  }

  numAliveMembers(): number {
    let n = 0;
    for (const m of this.memberMap.values()) if (m.status !== "left" && m.status !== "failed") n++;
    return n;
  }

  on(listener: PoolListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): PoolStats {
    return structuredClone(this.statsObj);
  }

  async join(addrs: readonly string[], ignoreOld = false): Promise<number> {
    if (this.state !== "alive") throw new PoolClosedError("A pool that left or shut down cannot join");
    const prev = this.eventJoinIgnore;
    if (ignoreOld) this.eventJoinIgnore = true;
    let joined = 0;
    const errors: string[] = [];
    try {
      for (const target of addrs) {
        let resolved: Address[];
        try {
          resolved = await this.transport.resolve(target, DEFAULT_PORT);
        } catch (e) {
          errors.push(`${target}: ${(e as Error).message}`);
          continue;
        }
        for (const a of resolved) {
          const err = await new Promise<Error | null>((res) => this.ml.pushPullNode(a, true, res));
          if (err) errors.push(`${target}: ${err.message}`);
          else joined++;
        }
      }
    } finally {
      this.eventJoinIgnore = prev;
    }
    if (joined === 0) throw new JoinError(`Failed to join any nodes: ${errors.join("; ") || "no addresses given"}`, errors);
    this.broadcastJoin(this.lamport.time());
    return joined;
  }

  async leave(): Promise<void> {
    if (this.state === "left" || this.state === "shutdown") return;
    if (this.state === "leaving") throw new PoolClosedError("Leave already in progress");
    this.state = "leaving";
    const msg: LeaveIntent = { t: SerfType.leave, ltime: this.lamport.time(), node: this.name, prune: false };
    this.lamport.increment();
    this.handleLeaveIntent(msg);
    if (this.hasAliveMembers()) await this.broadcastAndWait(this.intentBroadcasts, encodeSerf(msg), BROADCAST_TIMEOUT_MS);
    await this.ml.leave(BROADCAST_TIMEOUT_MS);
    // Stay up a little so probes in flight are answered while the leave spreads.
    await this.sleep(this.config.leavePropagateDelayMs);
    this.ml.stopProbing();
    if (this.state === "leaving") this.state = "left";
  }

  async shutdown(): Promise<void> {
    if (this.state === "shutdown") return;
    this.state = "shutdown";
    this.clock.clearTimeout(this.reapTimer);
    this.clock.clearTimeout(this.reconnectTimer);
    for (const q of this.pending.values()) q.finish();
    this.intentBroadcasts.reset();
    this.eventBroadcasts.reset();
    this.queryBroadcasts.reset();
    await this.ml.shutdown();
  }

  setTags(tags: Readonly<Record<string, string>>): void {
    checkMeta(tags);
    this.tags = { ...tags };
    this.ml.updateMeta();
  }

  userEvent(name: string, payload: Uint8Array, coalesce: boolean): void {
    if (this.state === "shutdown") throw new PoolClosedError("The pool is shut down");
    const limit = this.config.userEventSizeLimit;
    if (name.length + payload.length > limit) throw new GossipSizeError(`User event exceeds configured limit of ${limit} bytes before encoding`);
    const msg: UserEventMsg = { t: SerfType.userEvent, ltime: this.eventClock.time(), name, payload, cc: coalesce };
    const raw = encodeSerf(msg);
    if (raw.length > limit) throw new GossipSizeError(`Encoded length of user event exceeds configured limit of ${limit} bytes after encoding`);
    this.eventClock.increment();
    this.handleUserEvent(msg);
    this.eventBroadcasts.queue({ key: null, msg: raw });
  }

  query(name: string, payload: Uint8Array, options: QueryOptions = {}): Promise<QueryResponse> {
    if (this.state === "shutdown") return Promise.reject(new PoolClosedError("The pool is shut down"));
    const timeoutMs = options.timeoutMs ?? this.defaultQueryTimeoutMs();
    const msg: QueryMsg = {
      t: SerfType.query,
      ltime: this.queryClock.time(),
      id: randomInt(this.random, 2 ** 32),
      addr: this.ml.local.addr,
      port: this.ml.local.port,
      sourceNode: this.name,
      filterNodes: options.filterNodes ?? [],
      filterTags: Object.entries(options.filterTags ?? {}),
      flags: 0,
      timeoutMs,
      name,
      payload,
    };
    const raw = encodeSerf(msg);
    if (raw.length > this.config.querySizeLimit) {
      return Promise.reject(new GossipSizeError(`Query exceeds limit of ${this.config.querySizeLimit} bytes`));
    }
    this.queryClock.increment();
    let expected = 0;
    for (const m of this.memberMap.values()) if (m.status === "alive" && matchesFilters(m, msg)) expected++;
    return new Promise<QueryResponse>((resolve) => {
      const responses = new Map<string, Uint8Array>();
      let done = false;
      const q: PendingQuery = {
        ltime: msg.ltime,
        responses,
        expected,
        deadline: this.clock.now() + timeoutMs,
        timer: null,
        finish: () => {
          if (done) return;
          done = true;
          this.clock.clearTimeout(q.timer);
          this.pending.delete(msg.id);
          resolve({ responses, expected });
        },
      };
      q.timer = this.clock.setTimeout(() => q.finish(), timeoutMs);
      this.pending.set(msg.id, q);
      this.handleQuery(msg);
      this.queryBroadcasts.queue({ key: null, msg: raw });
    });
  }

  async forceLeave(name: string, prune = false): Promise<void> {
    const msg: LeaveIntent = { t: SerfType.leave, ltime: this.lamport.time(), node: name, prune };
    this.lamport.increment();
    this.handleLeaveIntent(msg);
    if (!this.hasAliveMembers()) return;
    await this.broadcastAndWait(this.intentBroadcasts, encodeSerf(msg), BROADCAST_TIMEOUT_MS);
  }

  installKey(key: string): Promise<KeyringResponse> {
    return this.keyOp("install-key", key);
  }

  useKey(key: string): Promise<KeyringResponse> {
    return this.keyOp("use-key", key);
  }

  removeKey(key: string): Promise<KeyringResponse> {
    return this.keyOp("remove-key", key);
  }

  listKeys(): Promise<KeyringResponse> {
    return this.keyOp("list-keys", null);
  }

  coordinate(): Coordinate | null {
    return this.coords.own();
  }

  memberCoordinate(name: string): Coordinate | null {
    return this.coords.of(name);
  }

  coordinates(): Map<string, Coordinate> {
    return this.coords.all();
  }

  /** Simulator/test seeding: know a member as alive without any gossip about it. */
  seedMember(name: string, addr: Address, tags: Readonly<Record<string, string>>): void {
    this.seeding = true;
    try {
      this.ml.seedNode(name, addr, encodeTags(tags), 1);
    } finally {
      this.seeding = false;
    }
  }
  private seeding = false;

  // ---- keyring ---------------------------------------------------------------

  private async keyOp(op: KeyOp, key: string | null): Promise<KeyringResponse> {
    const raw = keyQueryPayload(key);
    const numNodes = this.numAliveMembers();
    const q = await this.query(INTERNAL_PREFIX + op, raw);
    return tallyKeyResponses(numNodes, q.responses);
  }

  // ---- memberlist delegate ---------------------------------------------------

  nodeMeta(): Uint8Array {
    return encodeTags(this.tags);
  }

  notifyMsg(payload: Uint8Array): void {
    let m: SerfMessage;
    try {
      m = decodeSerf(payload);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) throw e;
      this.drops.drop("malformed", "a member (Serf payload)");
      return;
    }
    switch (m.t) {
      case SerfType.leave:
        if (this.handleLeaveIntent(m)) this.intentBroadcasts.queue({ key: null, msg: payload.slice() });
        return;
      case SerfType.join:
        if (this.handleJoinIntent(m)) this.intentBroadcasts.queue({ key: null, msg: payload.slice() });
        return;
      case SerfType.userEvent:
        if (this.handleUserEvent(m)) this.eventBroadcasts.queue({ key: null, msg: payload.slice() });
        return;
      case SerfType.query:
        if (this.handleQuery(m)) this.queryBroadcasts.queue({ key: null, msg: payload.slice() });
        return;
      case SerfType.queryResponse:
        return this.handleQueryResponse(m);
      case SerfType.pushPull:
        return;
    }
  }

  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let avail = limit;
    for (const q of [this.intentBroadcasts, this.queryBroadcasts, this.eventBroadcasts]) {
      if (q.length === 0) continue;
      for (const m of q.get(overhead, avail)) {
        out.push(m);
        avail -= m.length + overhead;
      }
    }
    return out;
  }

  pendingBroadcasts(): number {
    return this.intentBroadcasts.length + this.eventBroadcasts.length + this.queryBroadcasts.length;
  }

  localState(): Uint8Array {
    const statusLTimes = new Map<string, number>();
    const left: string[] = [];
    for (const m of this.memberMap.values()) {
      statusLTimes.set(m.name, m.statusLTime);
      if (m.status === "left") left.push(m.name);
    }
    const events = this.eventBuffer.slots();
    const pp: SerfPushPull = {
      t: SerfType.pushPull,
      ltime: this.lamport.time(),
      statusLTimes,
      leftMembers: left,
      eventLTime: this.eventClock.time(),
      events,
      queryLTime: this.queryClock.time(),
    };
    return encodeSerf(pp);
  }

  mergeRemoteState(buf: Uint8Array, join: boolean): void {
    if (buf.length === 0) return;
    let pp: SerfMessage;
    try {
      pp = decodeSerf(buf);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) throw e;
      this.drops.drop("malformed", "a member (Serf payload)");
      return;
    }
    if (pp.t !== SerfType.pushPull) return;
    // Nothing with these times has been sent yet, hence the - 1.
    if (pp.ltime > 0) this.lamport.witness(pp.ltime - 1);
    if (pp.eventLTime > 0) this.eventClock.witness(pp.eventLTime - 1);
    if (pp.queryLTime > 0) this.queryClock.witness(pp.queryLTime - 1);
    const left = new Set(pp.leftMembers);
    for (const name of pp.leftMembers) this.handleLeaveIntent({ t: SerfType.leave, ltime: pp.statusLTimes.get(name) ?? 0, node: name, prune: false });
    for (const [name, lt] of pp.statusLTimes) if (!left.has(name)) this.handleJoinIntent({ t: SerfType.join, ltime: lt, node: name });
    if (join && this.eventJoinIgnore && pp.eventLTime > this.eventMinTime) this.eventMinTime = pp.eventLTime;
    if (join) this.queryMinTime = Math.max(this.queryMinTime, pp.queryLTime);
    for (const slot of pp.events) {
      for (const e of slot.events) this.handleUserEvent({ t: SerfType.userEvent, ltime: slot.ltime, name: e.name, payload: e.payload, cc: false });
    }
  }

  notifyJoin(n: NodeState): void {
    let m = this.memberMap.get(n.name);
    if (m) {
      m.addr = n.addr;
      m.port = n.port;
      m.tags = decodeTags(n.meta);
      m.vsn = n.vsn;
      m.status = "alive";
      m.leaveTime = 0;
    } else {
      m = { name: n.name, addr: n.addr, port: n.port, tags: decodeTags(n.meta), status: "alive", vsn: n.vsn, statusLTime: 0, leaveTime: 0 };
      const intent = this.recentIntents.get(n.name);
      if (intent) {
        this.recentIntents.delete(n.name);
        m.statusLTime = intent.ltime;
        if (intent.leave) m.status = "leaving";
      }
      this.memberMap.set(n.name, m);
    }
    this.emitMember("member-join", m);
  }

  notifyLeave(n: NodeState): void {
    const m = this.memberMap.get(n.name);
    if (!m) return;
    const left = n.state === "left" || m.status === "leaving";
    m.status = left ? "left" : "failed";
    m.leaveTime = this.clock.now();
    this.emitMember(left ? "member-leave" : "member-failed", m);
  }

  notifyUpdate(n: NodeState): void {
    const m = this.memberMap.get(n.name);
    if (!m) return;
    m.tags = decodeTags(n.meta);
    m.addr = n.addr;
    m.port = n.port;
    m.vsn = n.vsn;
    this.emitMember("member-update", m);
  }

  ackPayload(): Uint8Array {
    return this.coords.ackPayload();
  }

  notifyPingComplete(n: NodeState, rttMs: number, payload: Uint8Array): void {
    this.coords.observe(n.name, rttMs, payload);
  }

  // ---- intents, events, queries ---------------------------------------------

  private broadcastJoin(ltime: number): void {
    const msg: JoinIntent = { t: SerfType.join, ltime, node: this.name };
    this.lamport.witness(ltime);
    this.handleJoinIntent(msg);
    this.intentBroadcasts.queue({ key: null, msg: encodeSerf(msg) });
  }

  private handleJoinIntent(j: JoinIntent): boolean {
    this.lamport.witness(j.ltime);
    const m = this.memberMap.get(j.node);
    if (!m) return this.upsertIntent(j.node, false, j.ltime);
    if (j.ltime <= m.statusLTime) return false;
    m.statusLTime = j.ltime;
    // A leave we saw was older than this join.
    if (m.status === "leaving") m.status = "alive";
    return true;
  }

  private handleLeaveIntent(l: LeaveIntent): boolean {
    this.lamport.witness(l.ltime);
    // Someone says we are leaving while we are not: refute with a newer join.
    if (l.node === this.name && this.state === "alive") {
      this.broadcastJoin(this.lamport.time());
      return false;
    }
    const m = this.memberMap.get(l.node);
    if (!m) return this.upsertIntent(l.node, true, l.ltime);
    if (l.ltime <= m.statusLTime) return false;
    switch (m.status) {
      case "alive":
        m.status = "leaving";
        m.statusLTime = l.ltime;
        if (l.prune) this.prune(m);
        return true;
      case "failed":
        m.status = "left";
        m.statusLTime = l.ltime;
        this.emitMember("member-leave", m);
        if (l.prune) this.prune(m);
        return true;
      case "leaving":
      case "left":
        m.statusLTime = l.ltime;
        if (l.prune) this.prune(m);
        return true;
    }
  }

  private upsertIntent(node: string, leave: boolean, ltime: number): boolean {
    const cur = this.recentIntents.get(node);
    if (cur && ltime <= cur.ltime) return false;
    this.recentIntents.set(node, { leave, ltime });
    return true;
  }

  private prune(m: MemberState): void {
    if (m.status === "leaving") {
      this.clock.setTimeout(() => this.erase(m), BROADCAST_TIMEOUT_MS + this.config.leavePropagateDelayMs);
    } else this.erase(m);
  }

  private erase(m: MemberState): void {
    if (this.memberMap.get(m.name) !== m || m.name === this.name) return;
    this.memberMap.delete(m.name);
    this.coords.forget(m.name);
    this.emitMember("member-reap", m);
  }

  private handleUserEvent(e: UserEventMsg): boolean {
    this.eventClock.witness(e.ltime);
    if (e.ltime < this.eventMinTime) return false;
    if (!this.eventBuffer.record(e.ltime, e.name, e.payload, this.eventClock.time())) return false;
    this.emit({ type: "user", name: e.name, payload: e.payload, ltime: e.ltime, coalesce: e.cc });
    return true;
  }

  private handleQuery(q: QueryMsg): boolean {
    this.queryClock.witness(q.ltime);
    if (q.ltime < this.queryMinTime) return false;
    if (!this.queryBuffer.record(q.ltime, q.id, this.queryClock.time())) return false;
    const rebroadcast = (q.flags & QueryFlag.noBroadcast) === 0;
    const me = this.memberMap.get(this.name);
    if (!me || !matchesFilters(me, q)) return rebroadcast;
    const deadline = this.clock.now() + q.timeoutMs;
    let responded = false;
    const respond = (payload: Uint8Array): boolean => {
      if (responded || this.clock.now() > deadline || this.state === "shutdown") return false;
      const resp: QueryResponseMsg = { t: SerfType.queryResponse, ltime: q.ltime, id: q.id, from: this.name, flags: 0, payload };
      const raw = encodeSerf(resp);
      if (raw.length > this.config.queryResponseSizeLimit) return false;
      responded = true;
      if (q.sourceNode === this.name) this.handleQueryResponse(resp);
      else this.ml.sendUser({ addr: q.addr, port: q.port }, raw);
      return true;
    };
    if (q.name.startsWith(INTERNAL_PREFIX)) {
      respond(answerKeyQuery(this.envelope.keyring, q.name.slice(INTERNAL_PREFIX.length), q.payload, this.onKeyringChange));
    } else {
      this.emit({ type: "query", name: q.name, payload: q.payload, ltime: q.ltime, sourceNode: q.sourceNode, respond });
    }
    return rebroadcast;
  }

  private handleQueryResponse(r: QueryResponseMsg): void {
    const q = this.pending.get(r.id);
    if (!q || q.ltime !== r.ltime) return;
    if (q.responses.has(r.from)) return;
    q.responses.set(r.from, r.payload);
    if (q.expected > 0 && q.responses.size >= q.expected) q.finish();
  }

  // ---- periodic ------------------------------------------------------------

  private reapTick(): void {
    if (this.state === "shutdown") return;
    const now = this.clock.now();
    for (const m of [...this.memberMap.values()]) {
      if (m.status === "failed" && now - m.leaveTime > this.config.reconnectTimeoutMs) this.erase(m);
      else if (m.status === "left" && now - m.leaveTime > this.config.tombstoneTimeoutMs) this.erase(m);
    }
    for (const [name] of this.recentIntents) if (!this.memberMap.has(name) && this.recentIntents.size > 1024) this.recentIntents.delete(name);
    this.reapTimer = this.clock.setTimeout(() => this.reapTick(), this.config.reapIntervalMs);
  }

  /** Now and then tries a failed member again, in case it was a partition rather than a crash. */
  private reconnectTick(): void {
    if (this.state !== "alive") return;
    const failed = [...this.memberMap.values()].filter((m) => m.status === "failed");
    const alive = this.numAliveMembers();
    if (failed.length > 0 && this.random.next() <= failed.length / Math.max(1, alive)) {
      const m = failed[randomInt(this.random, failed.length)] as MemberState;
      this.ml.pushPullNode({ addr: m.addr, port: m.port }, true, () => {});
    }
    this.reconnectTimer = this.clock.setTimeout(() => this.reconnectTick(), this.config.reconnectIntervalMs);
  }

  // ---- helpers -------------------------------------------------------------

  private defaultQueryTimeoutMs(): number {
    return this.config.gossipIntervalMs * this.config.queryTimeoutMult * Math.ceil(Math.log10(this.memberMap.size + 1));
  }

  private hasAliveMembers(): boolean {
    for (const m of this.memberMap.values()) if (m.name !== this.name && m.status === "alive") return true;
    return false;
  }

  private broadcastAndWait(q: BroadcastQueue, msg: Uint8Array, timeoutMs: number): Promise<void> {
    return queueAndWait(q, this.clock, msg, timeoutMs);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((r) => this.clock.setTimeout(r, ms));
  }

  private emitMember(type: MemberEventType, m: MemberState): void {
    if (this.seeding || this.listeners.size === 0) return;
    this.emit({ type, member: toMember(m) });
  }

  private emit(e: PoolEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log("error", `Pool event listener threw: ${(err as Error).message}`);
      }
    }
  }
}

export const DEFAULT_PORT = 8301;

export { OUR_VERSIONS };
