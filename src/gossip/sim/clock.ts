/**
 * Virtual time for the simulator: timers sit in a binary heap ordered by due
 * time (then creation order), and `runUntil` fires them in that order, so a
 * run is fully determined by its seed.
 */
import type { Clock } from "../clock.ts";

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly fn: () => void;
  cancelled: boolean;
}

export class SimClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: Timer[] = [];
  private cancelled = 0;
  /** Timer callbacks run so far (a measure of simulation work). */
  events = 0;

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const timer: Timer = { at: this.t + Math.max(0, ms), seq: ++this.seq, fn, cancelled: false };
    this.push(timer);
    return timer;
  }

  clearTimeout(handle: unknown): void {
    if (!handle || typeof handle !== "object") return;
    const t = handle as Timer;
    if (t.cancelled) return;
    t.cancelled = true;
    // Cancelled timers stay in the heap until due; rebuild it once they are the majority
    // (suspicion timers are long and mostly cancelled, and would otherwise pile up).
    if (++this.cancelled > 1024 && this.cancelled * 2 > this.heap.length) this.compact();
  }

  private compact(): void {
    const live = this.heap.filter((t) => !t.cancelled);
    this.heap = [];
    this.cancelled = 0;
    for (const t of live) this.push(t);
  }

  get pending(): number {
    return this.heap.length;
  }

  /** Fires every timer due up to `end`, then sets the time to `end`. */
  runUntil(end: number, stop?: () => boolean): void {
    for (;;) {
      const top = this.heap[0];
      if (!top || top.at > end) break;
      this.pop();
      if (top.cancelled) {
        this.cancelled--;
        continue;
      }
      this.t = Math.max(this.t, top.at);
      this.events++;
      top.fn();
      if (stop?.()) return;
    }
    this.t = Math.max(this.t, end);
  }

  runFor(ms: number, stop?: () => boolean): void {
    this.runUntil(this.t + ms, stop);
  }

  private less(a: Timer, b: Timer): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(x: Timer): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i] as Timer, h[p] as Timer)) break;
      [h[i], h[p]] = [h[p] as Timer, h[i] as Timer];
      i = p;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Timer;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.less(h[l] as Timer, h[m] as Timer)) m = l;
      if (r < h.length && this.less(h[r] as Timer, h[m] as Timer)) m = r;
      if (m === i) break;
      [h[i], h[m]] = [h[m] as Timer, h[i] as Timer];
      i = m;
    }
  }
}
