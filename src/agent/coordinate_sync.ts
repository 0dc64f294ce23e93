/**
 * The agent's periodic coordinate update (Consul's Agent.sendCoordinate):
 * every interval it sends its LAN Vivaldi coordinate to the servers with
 * Coordinate.Update. The interval scales with the cluster so the servers see
 * about `rateTarget` updates a second in all (SyncCoordinateRateTarget, 64),
 * never below `minIntervalMs` (SyncCoordinateIntervalMin, 15 s), plus a
 * random stagger of up to one interval so agents do not send together.
 */
import type { GossipPool } from "../gossip/mod.ts";
import type { Rpc } from "../rpc/types.ts";
import { defaultOptions } from "../rpc/types.ts";
import type { Coordinate } from "../structs/coordinate.ts";

/** What gossip gives the agent: its own coordinate and how many LAN members there are. */
export interface CoordinateSource {
  coordinate(): Coordinate | null;
  /** LAN members known; the interval grows with it. */
  memberCount?(): number;
}

export interface CoordinateTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface CoordinateSyncOptions {
  readonly rpc: Rpc;
  readonly node: string;
  readonly datacenter: string;
  /** The LAN pool once gossip runs in the agent; null (nothing sent) until then. */
  readonly source: () => CoordinateSource | null;
  readonly timers: CoordinateTimers;
  readonly random: () => number;
  readonly rateTarget?: number;
  readonly minIntervalMs?: number;
  /** Told about a failed send (the next interval tries again). */
  readonly onError?: (err: Error) => void;
}

/** lib.RateScaledInterval: n updates spread at `rate` a second, at least `minMs`. */
export function rateScaledInterval(rate: number, minMs: number, n: number): number {
  const ms = (1000 * n) / rate;
  return ms < minMs ? minMs : ms;
}

export class CoordinateSync {
  private readonly o: CoordinateSyncOptions;
  private timer: unknown = null;
  private stopped = false;
  /** Updates sent since start. */
  sent = 0;

  constructor(o: CoordinateSyncOptions) {
    this.o = o;
  }

  /** The wait before the next send: the scaled interval plus a random stagger up to one more. */
  nextDelay(): number {
    const n = this.o.source()?.memberCount?.() ?? 1;
    const interval = rateScaledInterval(this.o.rateTarget ?? 64, this.o.minIntervalMs ?? 15_000, n);
    return interval + this.o.random() * interval;
  }

  start(): void {
    if (this.stopped || this.timer !== null) return;
    const tick = () => {
      this.timer = null;
      if (this.stopped) return;
      this.sendNow()
        .catch((err: Error) => this.o.onError?.(err))
        .finally(() => {
          if (!this.stopped) this.timer = this.o.timers.setTimeout(tick, this.nextDelay());
        });
    };
    this.timer = this.o.timers.setTimeout(tick, this.nextDelay());
  }

  /** Sends the current coordinate now; false when there is none to send. */
  async sendNow(): Promise<boolean> {
    const coord = this.o.source()?.coordinate() ?? null;
    if (coord === null) return false;
    await this.o.rpc.call("Coordinate.Update", { Node: this.o.node, Segment: "", Coord: coord }, defaultOptions(this.o.datacenter));
    this.sent++;
    return true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.o.timers.clearTimeout(this.timer);
    this.timer = null;
  }
}

/**
 * The servers of every datacenter with their WAN coordinates, from the WAN
 * pool (members are named `<node>.<dc>`; failed and departed ones are left
 * out, as Consul's router drops them).
 */
export function wanCoordinates(wan: GossipPool | null): { datacenter: string; node: string; coord: Coordinate }[] {
  if (!wan) return [];
  const coords = wan.coordinates();
  const out: { datacenter: string; node: string; coord: Coordinate }[] = [];
  for (const m of wan.members()) {
    if (m.Status !== "alive") continue;
    const coord = coords.get(m.Name);
    if (!coord) continue;
    const dot = m.Name.lastIndexOf(".");
    const datacenter = m.Tags.dc ?? (dot > 0 ? m.Name.slice(dot + 1) : "");
    const suffix = `.${datacenter}`;
    const node = m.Name.endsWith(suffix) ? m.Name.slice(0, -suffix.length) : m.Name;
    out.push({ datacenter, node, coord });
  }
  return out;
}
