/**
 * Memberlist's TransmitLimitedQueue: messages waiting to be piggybacked on
 * outgoing packets. Each is sent up to `limit` times (which grows with
 * log(n)); the least-sent go first, newest first among equals, and a newer
 * message about the same subject (a member name) replaces the older one.
 */
import type { Clock } from "./clock.ts";

export interface Broadcast {
  /** Subject for invalidation (e.g. the member the message is about); null never invalidates. */
  readonly key: string | null;
  readonly msg: Uint8Array;
  /** Called once when the broadcast leaves the queue (sent enough times or replaced). */
  readonly done?: () => void;
}

interface Item {
  readonly b: Broadcast;
  readonly id: number;
  transmits: number;
}

export class BroadcastQueue {
  private items: Item[] = [];
  private seq = 0;
  private readonly limit: () => number;

  constructor(limit: () => number) {
    this.limit = limit;
  }

  get length(): number {
    return this.items.length;
  }

  queue(b: Broadcast): void {
    if (b.key !== null) {
      const keep: Item[] = [];
      for (const it of this.items) {
        if (it.b.key === b.key) it.b.done?.();
        else keep.push(it);
      }
      this.items = keep;
    }
    this.items.push({ b, id: ++this.seq, transmits: 0 });
  }

  /** Takes messages that fit in `bytesAvail`, charging `overhead` for each one. */
  get(overhead: number, bytesAvail: number): Uint8Array[] {
    if (this.items.length === 0) return [];
    const limit = this.limit();
    // Fewest transmits first, then newest first.
    this.items.sort((a, b) => a.transmits - b.transmits || b.id - a.id);
    const out: Uint8Array[] = [];
    let used = 0;
    let removed = false;
    for (const it of this.items) {
      const size = overhead + it.b.msg.length;
      if (used + size > bytesAvail) continue;
      used += size;
      out.push(it.b.msg);
      it.transmits++;
      if (it.transmits >= limit) removed = true;
    }
    if (removed) {
      const keep: Item[] = [];
      for (const it of this.items) {
        if (it.transmits >= limit) it.b.done?.();
        else keep.push(it);
      }
      this.items = keep;
    }
    return out;
  }

  /** Drops everything (on shutdown), completing pending done callbacks. */
  reset(): void {
    for (const it of this.items) it.b.done?.();
    this.items = [];
  }
}

/** Queues `msg` and resolves once it has left the queue, or after `timeoutMs`. */
export function queueAndWait(q: BroadcastQueue, timers: Pick<Clock, "setTimeout" | "clearTimeout">, msg: Uint8Array, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    let settled = false;
    const timer = timers.setTimeout(() => {
      if (!settled) {
        settled = true;
        resolve();
      }
    }, timeoutMs);
    q.queue({
      key: null,
      msg,
      done: () => {
        if (settled) return;
        settled = true;
        timers.clearTimeout(timer);
        resolve();
      },
    });
  });
}
