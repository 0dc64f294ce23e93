/**
 * An in-memory network for the simulator: datagrams with per-link one-way
 * delay, random loss and partitions; streams that are reliable but suffer
 * the same delay and partitions; and nodes that can be killed or starved of
 * CPU (their timers and inbound traffic wait until they next get to run).
 */
import type { Clock } from "../clock.ts";
import type { Random } from "../random.ts";
import type { Address, PacketHandler, StreamDone, StreamHandler, Transport } from "../transport.ts";
import { addressKey, parseHostPort } from "../transport.ts";
import type { SimClock } from "./clock.ts";

export class SimNetworkError extends Error {
  override readonly name = "SimNetworkError";
}

/**
 * Runs a node's work. A normal node runs everything at once; a starved one
 * runs only in its CPU slices, and on waking fires its overdue timers before
 * reading the packets that queued up (the order that hurts a slow member most).
 */
export class NodeExecutor {
  private readonly clock: SimClock;
  /** CPU slice: runs `runMs` of every `periodMs`; null = never starved. */
  private slice: { periodMs: number; runMs: number; phase: number } | null = null;
  private readonly timers: (() => void)[] = [];
  private readonly packets: (() => void)[] = [];
  private wakeScheduled = false;
  /** Inbound processing lag (ms, uniform in [mean/2, 3·mean/2], FIFO); 0 = none. */
  private lagMeanMs = 0;
  private lagRandom: Random | null = null;
  private lastLagged = 0;
  down = false;

  constructor(clock: SimClock) {
    this.clock = clock;
  }

  /**
   * A member too busy to read its sockets: every inbound packet waits a
   * random lag before it is handled (in order), while its timers keep time.
   */
  lagInbound(meanMs: number, random: Random): void {
    this.lagMeanMs = meanMs;
    this.lagRandom = random;
  }

  starve(periodMs: number, runMs: number, phase = 0): void {
    this.slice = { periodMs, runMs, phase };
  }

  unstarve(): void {
    this.slice = null;
    this.drain();
  }

  private pausedUntil(now: number): number | null {
    const s = this.slice;
    if (!s) return null;
    const pos = (((now - s.phase) % s.periodMs) + s.periodMs) % s.periodMs;
    if (pos < s.runMs) return null;
    return now + (s.periodMs - pos);
  }

  run(kind: "timer" | "packet", fn: () => void): void {
    if (this.down) return;
    if (kind === "packet" && this.lagMeanMs > 0 && this.lagRandom) {
      const at = Math.max(this.lastLagged, this.clock.now() + this.lagMeanMs * (0.5 + this.lagRandom.next()));
      this.lastLagged = at;
      this.clock.setTimeout(() => {
        if (!this.down) this.runNow("packet", fn);
      }, at - this.clock.now());
      return;
    }
    this.runNow(kind, fn);
  }

  private runNow(kind: "timer" | "packet", fn: () => void): void {
    const until = this.pausedUntil(this.clock.now());
    if (until === null && this.timers.length === 0 && this.packets.length === 0) return fn();
    (kind === "timer" ? this.timers : this.packets).push(fn);
    if (!this.wakeScheduled) {
      this.wakeScheduled = true;
      this.clock.setTimeout(() => this.wake(), until === null ? 0 : until - this.clock.now());
    }
  }

  private wake(): void {
    this.wakeScheduled = false;
    const until = this.pausedUntil(this.clock.now());
    if (until !== null) {
      this.wakeScheduled = true;
      this.clock.setTimeout(() => this.wake(), until - this.clock.now());
      return;
    }
    this.drain();
  }

  private drain(): void {
    while (!this.down && (this.timers.length > 0 || this.packets.length > 0)) {
      const fn = this.timers.length > 0 ? (this.timers.shift() as () => void) : (this.packets.shift() as () => void);
      fn();
    }
  }
}

/** A clock whose timers run through a node's executor. */
export function nodeClock(clock: SimClock, exec: NodeExecutor): Clock {
  return {
    now: () => clock.now(),
    setTimeout: (fn, ms) => clock.setTimeout(() => exec.run("timer", fn), ms),
    clearTimeout: (h) => clock.clearTimeout(h),
  };
}

export interface LinkCounters {
  packetsSent: number;
  packetsDelivered: number;
  packetsLost: number;
  bytesSent: number;
}

export interface SimNetworkOptions {
  readonly clock: SimClock;
  readonly random: Random;
  /** One-way delay in ms between two endpoints (default 0.5). */
  readonly latencyMs?: (from: Address, to: Address) => number;
  /** Probability a datagram is lost (default 0). */
  readonly loss?: number;
}

export class SimNetwork {
  readonly clock: SimClock;
  private readonly random: Random;
  private readonly endpoints = new Map<string, SimTransport>();
  latencyMs: (from: Address, to: Address) => number;
  loss: number;
  /** Partition groups: endpoints in different groups cannot reach each other. */
  private groups = new Map<string, number>();
  readonly counters: LinkCounters = { packetsSent: 0, packetsDelivered: 0, packetsLost: 0, bytesSent: 0 };
  /** Optional tap on every datagram sent (for tests: capture and replay). */
  tap: ((from: Address, to: Address, data: Uint8Array) => void) | null = null;

  constructor(o: SimNetworkOptions) {
    this.clock = o.clock;
    this.random = o.random;
    this.latencyMs = o.latencyMs ?? (() => 0.5);
    this.loss = o.loss ?? 0;
  }

  transport(local: Address, exec: NodeExecutor): SimTransport {
    const t = new SimTransport(this, local, exec);
    this.endpoints.set(addressKey(local), t);
    return t;
  }

  endpoint(a: Address): SimTransport | undefined {
    return this.endpoints.get(addressKey(a));
  }

  /** Splits the network: each listed set of addresses becomes its own island (the rest stay together). */
  partition(islands: readonly (readonly Address[])[]): void {
    this.groups = new Map();
    islands.forEach((isl, i) => {
      for (const a of isl) this.groups.set(addressKey(a), i + 1);
    });
  }

  heal(): void {
    this.groups = new Map();
  }

  reachable(a: Address, b: Address): boolean {
    return (this.groups.get(addressKey(a)) ?? 0) === (this.groups.get(addressKey(b)) ?? 0);
  }

  /** Delivers raw bytes as if from `from` (tests inject hostile packets this way). */
  inject(from: Address, to: Address, data: Uint8Array): void {
    this.sendPacket(from, to, data.slice(), true);
  }

  sendPacket(from: Address, to: Address, data: Uint8Array, reliable = false): void {
    this.counters.packetsSent++;
    this.counters.bytesSent += data.length;
    this.tap?.(from, to, data);
    const dst = this.endpoints.get(addressKey(to));
    if (!dst || dst.closed || !this.reachable(from, to) || (!reliable && this.loss > 0 && this.random.next() < this.loss)) {
      this.counters.packetsLost++;
      return;
    }
    // Senders never reuse a sealed packet, so it travels without a copy.
    this.clock.setTimeout(() => {
      if (dst.closed) return;
      this.counters.packetsDelivered++;
      dst.deliverPacket(data, from);
    }, this.latencyMs(from, to));
  }

  sendStream(from: SimTransport, to: Address, data: Uint8Array, timeoutMs: number, done: StreamDone): void {
    const dst = this.endpoints.get(addressKey(to));
    const src = from.local;
    let finished = false;
    const finish = (err: Error | null, answer: Uint8Array | null): void => {
      if (finished) return;
      finished = true;
      this.clock.clearTimeout(timer);
      from.exec.run("packet", () => done(err, answer));
    };
    const timer = this.clock.setTimeout(() => finish(new SimNetworkError("i/o timeout"), null), timeoutMs);
    if (!this.reachable(src, to)) return; // the timeout answers
    const there = this.latencyMs(src, to);
    if (!dst || dst.closed) {
      this.clock.setTimeout(() => finish(new SimNetworkError("connection refused"), null), there * 2);
      return;
    }
    const copy = data.slice();
    this.clock.setTimeout(() => {
      if (dst.closed) return finish(new SimNetworkError("connection reset"), null);
      dst.deliverStream(copy, src, (answer) => {
        if (!this.reachable(src, to)) return;
        this.clock.setTimeout(() => finish(null, answer ? answer.slice() : null), this.latencyMs(to, src));
      });
    }, there);
  }
}

export class SimTransport implements Transport {
  readonly local: Address;
  readonly exec: NodeExecutor;
  private readonly net: SimNetwork;
  private onPacket: PacketHandler | null = null;
  private onStream: StreamHandler | null = null;
  closed = false;

  constructor(net: SimNetwork, local: Address, exec: NodeExecutor) {
    this.net = net;
    this.local = local;
    this.exec = exec;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed || this.exec.down) return;
    this.net.sendPacket(this.local, to, data);
  }

  sendStream(to: Address, data: Uint8Array, timeoutMs: number, done: StreamDone): void {
    if (this.closed) return done(new SimNetworkError("transport closed"), null);
    this.net.sendStream(this, to, data, timeoutMs, done);
  }

  listen(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.onPacket = onPacket;
    this.onStream = onStream;
  }

  deliverPacket(data: Uint8Array, from: Address): void {
    const h = this.onPacket;
    if (h) this.exec.run("packet", () => h(data, from));
  }

  deliverStream(data: Uint8Array, from: Address, reply: (answer: Uint8Array | null) => void): void {
    const h = this.onStream;
    if (!h) return reply(null);
    this.exec.run("packet", () => h(data, from, reply));
  }

  resolve(target: string, defaultPort: number): Promise<Address[]> {
    const { host, port } = parseHostPort(target, defaultPort);
    return Promise.resolve([{ addr: host, port }]);
  }

  close(): Promise<void> {
    this.closed = true;
    return Promise.resolve();
  }
}
