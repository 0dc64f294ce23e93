/**
 * Server-side batching of coordinate updates (Consul's Coordinate endpoint in
 * agent/consul/coordinate_endpoint.go). Every agent sends its coordinate
 * every 15 s or more; each send only replaces the pending update for its
 * node and segment, and every period the pending updates go to the log in
 * batches. What exceeds batchSize x maxBatches in one period is discarded:
 * the rate limit that keeps a large cluster's coordinates from flooding the
 * log (the nodes send again).
 */
import type { Clock } from "./clock.ts";
import { MessageType, type Command } from "../state/mod.ts";
import type { Coordinate, CoordinateEntry } from "../structs/coordinate.ts";

export interface CoordinateBatchOptions {
  /** How often pending updates are written (CoordinateUpdatePeriod, 5 s). */
  readonly periodMs?: number;
  /** Updates per log entry (CoordinateUpdateBatchSize, 128). */
  readonly batchSize?: number;
  /** Entries per period (CoordinateUpdateMaxBatches, 5). */
  readonly maxBatches?: number;
}

export const COORDINATE_DEFAULTS = { periodMs: 5000, batchSize: 128, maxBatches: 5 } as const;

/** Where a server's own coordinates come from once gossip runs in the agent. */
export interface CoordinateSources {
  /** This server's LAN coordinate: incoming coordinates must match its dimensionality. */
  lan?(): Coordinate | null;
  /** Servers of every datacenter with their WAN coordinates, for /v1/coordinate/datacenters. */
  wan?(): { readonly datacenter: string; readonly node: string; readonly coord: Coordinate }[];
}

export class CoordinateBatcher {
  readonly periodMs: number;
  readonly batchSize: number;
  readonly maxBatches: number;
  sources: CoordinateSources = {};
  /** Updates thrown away by the rate limit since start. */
  discarded = 0;
  private pending = new Map<string, CoordinateEntry>();
  private readonly write: (cmd: Command) => Promise<unknown>;
  private readonly clock: Clock;
  private timer: unknown = null;
  private flushing: Promise<void> | null = null;
  private stopped = false;

  constructor(write: (cmd: Command) => Promise<unknown>, clock: Clock, opts: CoordinateBatchOptions = {}) {
    this.write = write;
    this.clock = clock;
    this.periodMs = opts.periodMs ?? COORDINATE_DEFAULTS.periodMs;
    this.batchSize = opts.batchSize ?? COORDINATE_DEFAULTS.batchSize;
    this.maxBatches = opts.maxBatches ?? COORDINATE_DEFAULTS.maxBatches;
    for (const [name, v] of [["period", this.periodMs], ["batch size", this.batchSize], ["max batches", this.maxBatches]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Coordinate update ${name} must be a positive integer, got ${v}`);
    }
  }

  /** Pending updates, one per node and segment. */
  get size(): number {
    return this.pending.size;
  }

  /** Keeps the latest update of a node and segment until the next flush. */
  add(u: CoordinateEntry): void {
    this.pending.set(`${u.Node}\u0000${u.Segment}`, { Node: u.Node, Segment: u.Segment, Coord: u.Coord });
  }

  start(): void {
    if (this.stopped || this.timer !== null) return;
    const tick = () => {
      this.timer = null;
      if (this.stopped) return;
      this.flush()
        .catch(() => {
          // A failed batch is lost like Consul's ("Batch update failed"); nodes send again.
        })
        .finally(() => {
          if (!this.stopped) this.timer = this.clock.setTimeout(tick, this.periodMs);
        });
    };
    this.timer = this.clock.setTimeout(tick, this.periodMs);
  }

  /** Writes what is pending now, at most batchSize x maxBatches updates, in batches. */
  flush(): Promise<void> {
    if (this.flushing) return this.flushing;
    const run = async () => {
      const updates = [...this.pending.values()];
      this.pending = new Map();
      const limit = this.batchSize * this.maxBatches;
      if (updates.length > limit) {
        this.discarded += updates.length - limit;
        updates.length = limit;
      }
      for (let start = 0; start < updates.length; start += this.batchSize) {
        await this.write({ Type: MessageType.CoordinateBatchUpdate, Now: this.clock.now(), Coordinates: updates.slice(start, start + this.batchSize) });
      }
    };
    this.flushing = run().finally(() => (this.flushing = null));
    return this.flushing;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
  }
}
