/**
 * SWIM membership with Lifeguard, after hashicorp/memberlist (state.go,
 * net.go, suspicion.go, awareness.go). One member probes one other member
 * per interval, walking a shuffled list; an unanswered probe asks k others
 * to probe indirectly (they nack if they cannot reach it either) and tries
 * TCP; still nothing and the target becomes suspect. Suspicion turns into
 * death after a timeout that shrinks as others confirm it, unless the
 * accused refutes with a higher incarnation. State changes spread by
 * piggybacking on every packet (a retransmit limit growing with log n) and
 * by periodic TCP push-pull of the full state.
 *
 * The class is driven only by its clock, random source and transport, so the
 * simulator runs exactly this code.
 */
import { Awareness } from "./awareness.ts";
import { BroadcastQueue } from "./broadcast_queue.ts";
import type { Clock } from "./clock.ts";
import { DropCounter } from "./drops.ts";
import type { GossipConfig } from "./config.ts";
import { pushPullScaleMs, retransmitLimit, suspicionTimeoutMs } from "./config.ts";
import type { AliveMsg, DeadMsg, Message, NodeStateName, PushNodeState, PushPullMsg, SuspectMsg, Versions } from "./messages.ts";
import { COMPOUND_OVERHEAD, MsgType, OUR_VERSIONS, decodeCompound, decodeMessage, encodeCompound, encodeMessage } from "./messages.ts";
import type { Envelope } from "./packet.ts";
import { envelopeOverhead, open, seal } from "./packet.ts";
import type { Random } from "./random.ts";
import { randomInt, shuffle } from "./random.ts";
import { Suspicion } from "./suspicion.ts";
import type { Address, Transport } from "./transport.ts";
import type { PoolStats } from "./types.ts";
import { WireDecodeError } from "./wire.ts";

export interface NodeState {
  readonly name: string;
  addr: string;
  port: number;
  meta: Uint8Array;
  vsn: Versions;
  incarnation: number;
  state: NodeStateName;
  /** Clock time of the last state change. */
  stateChange: number;
}

/** What the layer above (Serf) plugs into the membership core. */
export interface MemberlistDelegate {
  /** Our metadata (encoded tags). */
  nodeMeta(): Uint8Array;
  notifyMsg(payload: Uint8Array): void;
  /** Messages to piggyback, each fitting `limit` bytes in total with `overhead` per message. */
  getBroadcasts(overhead: number, limit: number): Uint8Array[];
  /** How many messages wait to be piggybacked (0 lets an idle gossip round end early). */
  pendingBroadcasts(): number;
  localState(join: boolean): Uint8Array;
  mergeRemoteState(state: Uint8Array, join: boolean): void;
  notifyJoin(n: NodeState): void;
  notifyLeave(n: NodeState): void;
  notifyUpdate(n: NodeState): void;
  ackPayload(): Uint8Array;
  notifyPingComplete(n: NodeState, rttMs: number, payload: Uint8Array): void;
}

interface AckHandler {
  onAck(payload: Uint8Array, at: number): void;
  onNack(): void;
  timer: unknown;
}

export class MemberlistError extends Error {
  override readonly name = "MemberlistError";
}

type Log = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

export interface MemberlistOptions {
  readonly name: string;
  readonly config: GossipConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly transport: Transport;
  readonly envelope: Envelope;
  readonly delegate: MemberlistDelegate;
  readonly stats: PoolStats;
  readonly log: Log;
}

export class Memberlist {
  readonly name: string;
  readonly config: GossipConfig;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly transport: Transport;
  private readonly envelope: Envelope;
  private readonly delegate: MemberlistDelegate;
  private readonly stats: PoolStats;
  private readonly drops: DropCounter;
  private readonly log: Log;

  /** Probe order (shuffled at each wrap); includes ourselves. */
  private nodes: NodeState[] = [];
  private readonly nodeMap = new Map<string, NodeState>();
  private probeIndex = 0;
  private seq = 0;
  private incarnation = 0;
  readonly awareness: Awareness;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly ackHandlers = new Map<number, AckHandler>();
  readonly broadcasts: BroadcastQueue;
  private probeTimer: unknown = null;
  private gossipTimer: unknown = null;
  private pushPullTimer: unknown = null;
  private running = false;
  leaving = false;
  private stopped = false;
  /** Called once a probe round finishes (simulator instrumentation). */
  onProbeRound: ((target: string, ok: boolean) => void) | null = null;

  constructor(o: MemberlistOptions) {
    this.name = o.name;
    this.config = o.config;
    this.clock = o.clock;
    this.random = o.random;
    this.transport = o.transport;
    this.envelope = o.envelope;
    this.delegate = o.delegate;
    this.stats = o.stats;
    this.drops = new DropCounter(o.stats, o.log, o.clock);
    this.log = o.log;
    this.awareness = new Awareness(o.config.awarenessMaxMultiplier);
    this.broadcasts = new BroadcastQueue(() => retransmitLimit(this.config.retransmitMult, this.estNumNodes()));
  }

  get local(): Address {
    return this.transport.local;
  }

  /** Registers ourselves as alive and starts listening and the periodic loops. */
  start(): void {
    this.transport.listen(
      (data, from) => this.onPacket(data, from),
      (data, from, reply) => this.onStream(data, from, reply),
    );
    this.aliveNode({ t: MsgType.alive, incarnation: this.nextIncarnation(), node: this.name, addr: this.local.addr, port: this.local.port, meta: this.delegate.nodeMeta(), vsn: OUR_VERSIONS }, true);
    this.running = true;
    const c = this.config;
    // Random stagger so members do not tick in lockstep.
    this.probeTimer = this.clock.setTimeout(() => this.probe(), this.random.next() * c.probeIntervalMs);
    this.gossipTimer = this.clock.setTimeout(() => this.gossipTick(), this.random.next() * c.gossipIntervalMs);
    if (c.pushPullIntervalMs > 0) {
      this.pushPullTimer = this.clock.setTimeout(() => this.pushPullTick(), this.random.next() * pushPullScaleMs(c.pushPullIntervalMs, this.estNumNodes()));
    }
  }

  estNumNodes(): number {
    return this.nodes.length;
  }

  /** Nodes that are neither dead nor left (memberlist NumMembers). */
  numAlive(): number {
    let n = 0;
    for (const s of this.nodes) if (s.state === "alive" || s.state === "suspect") n++;
    return n;
  }

  node(name: string): NodeState | undefined {
    return this.nodeMap.get(name);
  }

  allNodes(): readonly NodeState[] {
    return this.nodes;
  }

  get localIncarnation(): number {
    return this.incarnation;
  }

  private nextIncarnation(): number {
    return ++this.incarnation;
  }

  // ---- probing ---------------------------------------------------------------

  private probe(): void {
    this.probeTimer = null;
    if (!this.running) return;
    let checked = 0;
    for (;;) {
      if (checked >= this.nodes.length) break;
      if (this.probeIndex >= this.nodes.length) {
        this.resetNodes();
        this.probeIndex = 0;
        checked++;
        continue;
      }
      const node = this.nodes[this.probeIndex++] as NodeState;
      if (node.name === this.name || node.state === "dead" || node.state === "left") {
        checked++;
        continue;
      }
      this.probeNode(node);
      return;
    }
    this.scheduleProbe(this.clock.now() + this.config.probeIntervalMs);
  }

  private scheduleProbe(at: number): void {
    if (!this.running) return;
    this.probeTimer = this.clock.setTimeout(() => this.probe(), Math.max(0, at - this.clock.now()));
  }

  /** Drops long-dead nodes from the probe list and reshuffles it. */
  private resetNodes(): void {
    const now = this.clock.now();
    const keep: NodeState[] = [];
    for (const n of this.nodes) {
      if ((n.state === "dead" || n.state === "left") && now - n.stateChange > this.config.gossipToTheDeadMs && n.name !== this.name) {
        this.nodeMap.delete(n.name);
      } else keep.push(n);
    }
    this.nodes = keep;
    shuffle(this.random, this.nodes);
  }

  private probeNode(node: NodeState): void {
    const c = this.config;
    const start = this.clock.now();
    const seq = ++this.seq;
    const interval = c.lifeguard ? this.awareness.scale(c.probeIntervalMs) : c.probeIntervalMs;
    const target: Address = { addr: node.addr, port: node.port };
    let finished = false;
    let nacks = 0;
    let expectedNacks = 0;
    let fallbackOk = false;
    let timeoutTimer: unknown = null;

    const finish = (ok: boolean, delta: number): void => {
      if (finished) return;
      finished = true;
      this.clock.clearTimeout(timeoutTimer);
      const h = this.ackHandlers.get(seq);
      if (h) this.clock.clearTimeout(h.timer);
      this.ackHandlers.delete(seq);
      if (c.lifeguard) this.awareness.applyDelta(delta);
      this.stats.health = this.awareness.health;
      this.onProbeRound?.(node.name, ok);
      // Next probe on the next tick, or right away if this one overran it.
      this.scheduleProbe(Math.max(start + c.probeIntervalMs, this.clock.now()));
    };

    const deadline = (): void => {
      if (finished) return;
      if (fallbackOk) return finish(true, -1);
      let delta = 0;
      if (expectedNacks > 0) {
        if (nacks < expectedNacks) delta += expectedNacks - nacks;
      } else delta += 1;
      this.log("info", `Suspect ${node.name} has failed, no acks received`);
      this.stats.suspicions++;
      const current = this.nodeMap.get(node.name);
      if (current === node) this.suspectNode({ t: MsgType.suspect, incarnation: node.incarnation, node: node.name, from: this.name });
      finish(false, delta);
    };

    this.ackHandlers.set(seq, {
      onAck: (payload, at) => {
        if (finished) return;
        if (payload.length > 0) this.delegate.notifyPingComplete(node, at - start, payload);
        finish(true, -1);
      },
      onNack: () => {
        nacks++;
      },
      timer: this.clock.setTimeout(deadline, interval),
    });

    const ping = encodeMessage({ t: MsgType.ping, seq, node: node.name, sourceName: this.name, sourceAddr: this.local.addr, sourcePort: this.local.port });
    if (node.state === "alive") this.sendUdp(target, [ping]);
    else {
      // Buddy system: tell a suspect it is suspected, so it can refute sooner.
      const s = encodeMessage({ t: MsgType.suspect, incarnation: node.incarnation, node: node.name, from: this.name });
      this.sendUdp(target, [ping, s]);
    }

    timeoutTimer = this.clock.setTimeout(() => {
      if (finished) return;
      const peers = this.kRandomNodes(c.indirectChecks, (n) => n.name === this.name || n.name === node.name || n.state !== "alive");
      const ind = encodeMessage({
        t: MsgType.indirectPing,
        seq,
        target: node.name,
        addr: node.addr,
        port: node.port,
        nack: c.lifeguard,
        sourceName: this.name,
        sourceAddr: this.local.addr,
        sourcePort: this.local.port,
      });
      for (const p of peers) {
        if (c.lifeguard) expectedNacks++;
        this.sendUdp({ addr: p.addr, port: p.port }, [ind]);
      }
      // And try TCP ourselves: it gets through where UDP is being dropped.
      const remaining = start + interval - this.clock.now();
      if (remaining > 0 && !c.disableTcpPings) {
        this.stats.streamsOpened++;
        this.transport.sendStream(target, seal(this.envelope, ping), remaining, (err, answer) => {
          if (err || !answer || finished) return;
          const m = this.openSingle(answer, `${target.addr}:${target.port}`);
          if (m && m.t === MsgType.ack && m.seq === seq) fallbackOk = true;
        });
      }
    }, c.probeTimeoutMs);
  }

  /** Up to k distinct random nodes not excluded (memberlist kRandomNodes). */
  kRandomNodes(k: number, exclude: (n: NodeState) => boolean): NodeState[] {
    const out: NodeState[] = [];
    const n = this.nodes.length;
    outer: for (let i = 0; i < 3 * n && out.length < k; i++) {
      const s = this.nodes[randomInt(this.random, n)] as NodeState;
      if (exclude(s)) continue;
      for (const o of out) if (o === s) continue outer;
      out.push(s);
    }
    return out;
  }

  // ---- gossip and push-pull --------------------------------------------------

  private gossipTick(): void {
    this.gossipTimer = null;
    if (!this.running && !this.leaving) return;
    this.gossip();
    if (!this.stopped) this.gossipTimer = this.clock.setTimeout(() => this.gossipTick(), this.config.gossipIntervalMs);
  }

  private gossip(): void {
    if (this.broadcasts.length === 0 && this.delegate.pendingBroadcasts() === 0) return;
    const now = this.clock.now();
    const peers = this.kRandomNodes(this.config.gossipNodes, (n) => {
      if (n.name === this.name) return true;
      if (n.state === "alive" || n.state === "suspect") return false;
      if (n.state === "dead") return now - n.stateChange > this.config.gossipToTheDeadMs;
      return true;
    });
    const avail = this.config.udpBufferSize - envelopeOverhead(this.envelope) - 3;
    for (const p of peers) {
      const msgs = this.getBroadcasts(COMPOUND_OVERHEAD, avail);
      if (msgs.length === 0) return;
      this.rawSend({ addr: p.addr, port: p.port }, encodeCompound(msgs));
    }
  }

  getBroadcasts(overhead: number, limit: number): Uint8Array[] {
    const out = this.broadcasts.get(overhead, limit);
    let used = 0;
    for (const m of out) used += m.length + overhead;
    const avail = limit - used;
    if (avail > overhead + 1) for (const m of this.delegate.getBroadcasts(overhead + 1, avail)) out.push(prefixUser(m));
    return out;
  }

  private pushPullTick(): void {
    this.pushPullTimer = null;
    if (!this.running) return;
    const peers = this.kRandomNodes(1, (n) => n.name === this.name || n.state !== "alive");
    const p = peers[0];
    if (p) {
      this.pushPullNode({ addr: p.addr, port: p.port }, false, (err) => {
        if (err) this.log("warn", `Push/Pull with ${p.name} failed: ${err.message}`);
      });
    }
    this.pushPullTimer = this.clock.setTimeout(() => this.pushPullTick(), pushPullScaleMs(this.config.pushPullIntervalMs, this.estNumNodes()));
  }

  private localPushPull(join: boolean): PushPullMsg {
    const nodes: PushNodeState[] = this.nodes.map((n) => ({ name: n.name, addr: n.addr, port: n.port, meta: n.meta, incarnation: n.incarnation, state: n.state, vsn: n.vsn }));
    return { t: MsgType.pushPull, join, nodes, userState: this.delegate.localState(join) };
  }

  /** Exchanges full state with one address over a stream. */
  pushPullNode(to: Address, join: boolean, done: (err: Error | null) => void): void {
    this.stats.streamsOpened++;
    const req = seal(this.envelope, encodeMessage(this.localPushPull(join)));
    this.transport.sendStream(to, req, this.config.tcpTimeoutMs, (err, answer) => {
      if (err) return done(err);
      if (!answer) return done(new MemberlistError("Push/pull got no answer"));
      const m = this.openSingle(answer, `${to.addr}:${to.port}`);
      if (!m || m.t !== MsgType.pushPull) return done(new MemberlistError("Push/pull answer was not a state exchange"));
      this.mergeRemote(m);
      done(null);
    });
  }

  private mergeRemote(m: PushPullMsg): void {
    for (const r of m.nodes) {
      switch (r.state) {
        case "alive":
          this.aliveNode({ t: MsgType.alive, incarnation: r.incarnation, node: r.name, addr: r.addr, port: r.port, meta: r.meta, vsn: r.vsn }, false);
          break;
        case "left":
          this.deadNode({ t: MsgType.dead, incarnation: r.incarnation, node: r.name, from: r.name });
          break;
        case "dead":
        // A remote view of death only makes us suspect: we do not take its word for it.
        case "suspect":
          this.suspectNode({ t: MsgType.suspect, incarnation: r.incarnation, node: r.name, from: this.name });
          break;
      }
    }
    this.delegate.mergeRemoteState(m.userState, m.join);
  }

  // ---- sending ---------------------------------------------------------------

  /** Sends messages in one packet, topped up with piggybacked broadcasts. */
  private sendUdp(to: Address, msgs: Uint8Array[]): void {
    let size = 0;
    for (const m of msgs) size += m.length + COMPOUND_OVERHEAD;
    const avail = this.config.udpBufferSize - envelopeOverhead(this.envelope) - 3 - size;
    const all = avail > 0 ? msgs.concat(this.getBroadcasts(COMPOUND_OVERHEAD, avail)) : msgs;
    this.rawSend(to, encodeCompound(all));
  }

  private rawSend(to: Address, body: Uint8Array): void {
    const pkt = seal(this.envelope, body);
    if (pkt.length > this.config.udpBufferSize) {
      // Too big for a datagram: one-way over a stream, marked as a compound body.
      const framed = new Uint8Array(body.length + 1);
      framed[0] = STREAM_COMPOUND;
      framed.set(body, 1);
      this.stats.streamsOpened++;
      this.transport.sendStream(to, seal(this.envelope, framed), this.config.tcpTimeoutMs, () => {});
      return;
    }
    this.stats.packetsSent++;
    this.stats.bytesSent += pkt.length;
    this.transport.sendPacket(to, pkt);
  }

  /** Sends a user (Serf) message straight to one address. */
  sendUser(to: Address, payload: Uint8Array): void {
    this.sendUdp(to, [prefixUser(payload)]);
  }

  // ---- receiving -------------------------------------------------------------

  private openSingle(data: Uint8Array, from: string): Message | null {
    const o = open(this.envelope, data);
    if (!o.ok) {
      this.drops.drop(o.reason, from);
      return null;
    }
    try {
      return decodeMessage(o.body);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) throw e;
      this.drops.drop("malformed", from);
      return null;
    }
  }

  private onPacket(data: Uint8Array, from: Address): void {
    if (this.stopped) return;
    this.stats.packetsReceived++;
    this.stats.bytesReceived += data.length;
    const o = open(this.envelope, data);
    const source = `${from.addr}:${from.port}`;
    if (!o.ok) {
      this.drops.drop(o.reason, source);
      return;
    }
    let parts: Uint8Array[];
    try {
      parts = decodeCompound(o.body);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) throw e;
      this.drops.drop("malformed", source);
      return;
    }
    for (const p of parts) {
      let m: Message;
      try {
        m = decodeMessage(p);
      } catch (e) {
        if (!(e instanceof WireDecodeError)) throw e;
        this.drops.drop("malformed", source);
        continue;
      }
      this.handle(m, from);
    }
  }

  private onStream(data: Uint8Array, from: Address, reply: (answer: Uint8Array | null) => void): void {
    if (this.stopped) return reply(null);
    this.stats.streamsAccepted++;
    const o = open(this.envelope, data);
    const source = `${from.addr}:${from.port}`;
    if (!o.ok) {
      this.drops.drop(o.reason, source);
      return reply(null);
    }
    let m: Message;
    try {
      // Streams carry one message, or a compound body too large for a datagram.
      if (o.body[0] === STREAM_COMPOUND) {
        const parts = decodeCompound(o.body.subarray(1)).map(decodeMessage);
        for (const p of parts) this.handle(p, from);
        return reply(null);
      }
      m = decodeMessage(o.body);
    } catch (e) {
      if (!(e instanceof WireDecodeError)) throw e;
      this.drops.drop("malformed", source);
      return reply(null);
    }
    if (m.t === MsgType.pushPull) {
      const answer = seal(this.envelope, encodeMessage(this.localPushPull(m.join)));
      this.mergeRemote(m);
      return reply(answer);
    }
    if (m.t === MsgType.ping) {
      if (m.node !== "" && m.node !== this.name) return reply(null);
      return reply(seal(this.envelope, encodeMessage({ t: MsgType.ack, seq: m.seq, payload: this.delegate.ackPayload() })));
    }
    this.handle(m, from);
    reply(null);
  }

  private handle(m: Message, from: Address): void {
    switch (m.t) {
      case MsgType.ping: {
        if (m.node !== "" && m.node !== this.name) return;
        const to = m.sourceAddr !== "" && m.sourcePort > 0 ? { addr: m.sourceAddr, port: m.sourcePort } : from;
        this.sendUdp(to, [encodeMessage({ t: MsgType.ack, seq: m.seq, payload: this.delegate.ackPayload() })]);
        return;
      }
      case MsgType.indirectPing:
        return this.handleIndirectPing(m.seq, m.target, { addr: m.addr, port: m.port }, m.nack, m.sourceAddr !== "" ? { addr: m.sourceAddr, port: m.sourcePort } : from);
      case MsgType.ack: {
        const h = this.ackHandlers.get(m.seq);
        if (h) h.onAck(m.payload, this.clock.now());
        return;
      }
      case MsgType.nack: {
        const h = this.ackHandlers.get(m.seq);
        if (h) h.onNack();
        return;
      }
      case MsgType.suspect:
        return this.suspectNode(m);
      case MsgType.alive:
        return this.aliveNode(m, false);
      case MsgType.dead:
        return this.deadNode(m);
      case MsgType.user:
        return this.delegate.notifyMsg(m.payload);
      case MsgType.pushPull:
        return; // only meaningful on a stream
    }
  }

  private handleIndirectPing(origSeq: number, target: string, addr: Address, wantNack: boolean, source: Address): void {
    const seq = ++this.seq;
    let answered = false;
    const h: AckHandler = {
      onAck: () => {
        if (answered) return;
        answered = true;
        this.clock.clearTimeout(h.timer);
        this.ackHandlers.delete(seq);
        this.sendUdp(source, [encodeMessage({ t: MsgType.ack, seq: origSeq, payload: new Uint8Array(0) })]);
      },
      onNack: () => {},
      timer: this.clock.setTimeout(() => this.ackHandlers.delete(seq), this.config.probeTimeoutMs),
    };
    this.ackHandlers.set(seq, h);
    // Nack a little before our own timeout, so the nack reaches the asker before its
    // probe deadline (memberlist waits the full timeout, so on a fast network its nacks
    // land just after the deadline and a healthy asker counts them as missing).
    if (wantNack) {
      this.clock.setTimeout(() => {
        if (!answered && !this.stopped) this.sendUdp(source, [encodeMessage({ t: MsgType.nack, seq: origSeq })]);
      }, this.config.probeTimeoutMs * NACK_FRACTION);
    }
    this.sendUdp(addr, [encodeMessage({ t: MsgType.ping, seq, node: target, sourceName: this.name, sourceAddr: this.local.addr, sourcePort: this.local.port })]);
  }

  // ---- state transitions -----------------------------------------------------

  private queueBroadcast(node: string, msg: Uint8Array, done?: () => void): void {
    this.broadcasts.queue(done ? { key: node, msg, done } : { key: node, msg });
  }

  /** A member is alive (or has new metadata). `bootstrap` marks our own start-up announcement. */
  aliveNode(a: AliveMsg, bootstrap: boolean): void {
    const isLocal = a.node === this.name;
    if (this.leaving && isLocal && !bootstrap) return;
    let state = this.nodeMap.get(a.node);
    let updatesNode = false;
    const now = this.clock.now();
    if (!state) {
      state = { name: a.node, addr: a.addr, port: a.port, meta: a.meta, vsn: a.vsn, incarnation: 0, state: "dead", stateChange: now };
      this.nodeMap.set(a.node, state);
      // Insert at a random position, so a new node is not probed by everyone at once.
      const n = this.nodes.length;
      const offset = randomInt(this.random, n + 1);
      this.nodes.push(state);
      if (offset < n) {
        this.nodes[n] = this.nodes[offset] as NodeState;
        this.nodes[offset] = state;
      }
      updatesNode = true;
    } else if (state.addr !== a.addr || state.port !== a.port) {
      const reclaim = this.config.deadNodeReclaimMs > 0 && now - state.stateChange > this.config.deadNodeReclaimMs;
      if (state.state === "left" || (state.state === "dead" && reclaim)) updatesNode = true;
      else {
        this.log("warn", `Conflicting address for ${a.node}: ${state.addr}:${state.port} and ${a.addr}:${a.port}`);
        return;
      }
    }
    if (a.incarnation <= state.incarnation && !isLocal && !updatesNode) return;
    if (a.incarnation < state.incarnation && isLocal) return;
    this.stopSuspicion(a.node);
    const oldState = state.state;
    const oldMeta = state.meta;
    if (isLocal && !bootstrap) {
      // Our own alive coming back is just gossip; anything else about us is stale: refute.
      if (a.incarnation === state.incarnation && bytesEqual(a.meta, state.meta)) return;
      this.refute(state, a.incarnation);
      return;
    }
    this.queueBroadcast(a.node, encodeMessage(a));
    state.incarnation = a.incarnation;
    state.meta = a.meta;
    state.vsn = a.vsn;
    state.addr = a.addr;
    state.port = a.port;
    if (state.state !== "alive") {
      state.state = "alive";
      state.stateChange = now;
    }
    if (oldState === "dead" || oldState === "left") this.delegate.notifyJoin(state);
    else if (!bytesEqual(oldMeta, state.meta)) this.delegate.notifyUpdate(state);
  }

  suspectNode(s: SuspectMsg): void {
    const state = this.nodeMap.get(s.node);
    if (!state) return;
    if (s.incarnation < state.incarnation) return;
    const timer = this.suspicions.get(s.node);
    if (timer) {
      if (timer.confirm(s.from)) this.queueBroadcast(s.node, encodeMessage(s));
      return;
    }
    if (state.state !== "alive") return;
    if (state.name === this.name) {
      this.refute(state, s.incarnation);
      this.log("warn", `Refuting a suspect message (from: ${s.from})`);
      return;
    }
    this.queueBroadcast(s.node, encodeMessage(s));
    const c = this.config;
    state.incarnation = s.incarnation;
    state.state = "suspect";
    const changeTime = this.clock.now();
    state.stateChange = changeTime;
    // Expect confirmations from k others; none if the pool is too small to give them.
    let k = c.lifeguard ? c.suspicionMult - 2 : 0;
    const n = this.estNumNodes();
    if (n - 2 < k) k = 0;
    // A member that knows it is unhealthy (Lifeguard's local health) waits longer before
    // declaring anyone dead: its own failed probes and late-arriving refutations are suspect.
    const scale = c.lifeguard ? this.awareness.health + 1 : 1;
    const min = suspicionTimeoutMs(c.suspicionMult, n, c.probeIntervalMs) * scale;
    const max = c.lifeguard ? c.suspicionMaxTimeoutMult * min : min;
    this.suspicions.set(
      s.node,
      new Suspicion(s.from, k, min, max, this.clock, () => {
        const cur = this.nodeMap.get(s.node);
        if (cur && cur.state === "suspect" && cur.stateChange === changeTime) {
          this.deadNode({ t: MsgType.dead, incarnation: cur.incarnation, node: cur.name, from: this.name });
        }
      }),
    );
  }

  deadNode(d: DeadMsg, done?: () => void): void {
    const state = this.nodeMap.get(d.node);
    if (!state) return;
    if (d.incarnation < state.incarnation) return;
    this.stopSuspicion(d.node);
    if (state.state === "dead" || state.state === "left") return;
    if (state.name === this.name) {
      if (!this.leaving) {
        this.refute(state, d.incarnation);
        this.log("warn", `Refuting a dead message (from: ${d.from})`);
        return;
      }
      this.queueBroadcast(d.node, encodeMessage(d), done);
    } else this.queueBroadcast(d.node, encodeMessage(d));
    state.incarnation = d.incarnation;
    state.state = d.node === d.from ? "left" : "dead";
    state.stateChange = this.clock.now();
    this.delegate.notifyLeave(state);
  }

  private stopSuspicion(node: string): void {
    const t = this.suspicions.get(node);
    if (t) {
      t.stop();
      this.suspicions.delete(node);
    }
  }

  private refute(me: NodeState, accused: number): void {
    let inc = this.nextIncarnation();
    if (accused >= inc) {
      this.incarnation = accused + 1;
      inc = this.incarnation;
    }
    me.incarnation = inc;
    this.stats.refutes++;
    if (this.config.lifeguard) this.awareness.applyDelta(1);
    this.stats.health = this.awareness.health;
    this.queueBroadcast(me.name, encodeMessage({ t: MsgType.alive, incarnation: inc, node: me.name, addr: me.addr, port: me.port, meta: me.meta, vsn: me.vsn }));
  }

  /** Re-announces ourselves with new metadata (Serf's SetTags). */
  updateMeta(): void {
    const me = this.nodeMap.get(this.name);
    if (!me) return;
    const inc = this.nextIncarnation();
    this.aliveNode({ t: MsgType.alive, incarnation: inc, node: this.name, addr: me.addr, port: me.port, meta: this.delegate.nodeMeta(), vsn: me.vsn }, true);
  }

  /**
   * Simulator and test seeding: learn a member as alive without gossiping
   * about it (as if a push-pull had already converged).
   */
  seedNode(name: string, addr: Address, meta: Uint8Array, incarnation: number): void {
    if (this.nodeMap.has(name)) return;
    const state: NodeState = { name, addr: addr.addr, port: addr.port, meta, vsn: OUR_VERSIONS, incarnation, state: "alive", stateChange: this.clock.now() };
    this.nodeMap.set(name, state);
    const n = this.nodes.length;
    const offset = randomInt(this.random, n + 1);
    this.nodes.push(state);
    if (offset < n) {
      this.nodes[n] = this.nodes[offset] as NodeState;
      this.nodes[offset] = state;
    }
    this.delegate.notifyJoin(state);
  }

  /** Announces our leave and resolves once the announcement has been sent enough times (or the timeout passes). */
  leave(timeoutMs: number): Promise<void> {
    this.leaving = true;
    const me = this.nodeMap.get(this.name);
    if (!me || this.numAlive() <= 1) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let settled = false;
      const timer = this.clock.setTimeout(() => {
        if (!settled) {
          settled = true;
          resolve();
        }
      }, timeoutMs);
      this.deadNode({ t: MsgType.dead, incarnation: me.incarnation, node: this.name, from: this.name }, () => {
        if (settled) return;
        settled = true;
        this.clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Stops probing and push-pull (after a leave, gossip goes on until shutdown). */
  stopProbing(): void {
    this.running = false;
    this.clock.clearTimeout(this.probeTimer);
    this.clock.clearTimeout(this.pushPullTimer);
  }

  async shutdown(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.running = false;
    this.clock.clearTimeout(this.probeTimer);
    this.clock.clearTimeout(this.gossipTimer);
    this.clock.clearTimeout(this.pushPullTimer);
    for (const s of this.suspicions.values()) s.stop();
    this.suspicions.clear();
    for (const h of this.ackHandlers.values()) this.clock.clearTimeout(h.timer);
    this.ackHandlers.clear();
    this.broadcasts.reset();
    await this.transport.close();
  }
}

/** Relays nack at this fraction of the probe timeout. */
const NACK_FRACTION = 0.8;

/** First byte of a stream body holding a compound message (no message type uses it). */
const STREAM_COMPOUND = 0xff;

function prefixUser(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 1);
  out[0] = MsgType.user;
  out.set(payload, 1);
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
