/**
 * Lifeguard's suspicion timer (memberlist suspicion.go). It starts at `max`
 * and shrinks logarithmically toward `min` as k independent members confirm
 * the suspicion, so a suspicion only we hold takes long to become a death
 * while one the whole pool shares resolves fast.
 */
import type { Clock } from "./clock.ts";

export class Suspicion {
  private n = 0;
  private readonly k: number;
  private readonly min: number;
  private readonly max: number;
  private readonly start: number;
  private readonly confirmations = new Set<string>();
  private timer: unknown;
  private fired = false;
  private readonly clock: Clock;
  private readonly onTimeout: (confirmations: number) => void;

  constructor(from: string, k: number, minMs: number, maxMs: number, clock: Clock, onTimeout: (confirmations: number) => void) {
    this.k = k;
    this.min = minMs;
    this.max = maxMs;
    this.clock = clock;
    this.onTimeout = onTimeout;
    // The accuser does not count as a confirmation.
    this.confirmations.add(from);
    this.start = clock.now();
    this.timer = clock.setTimeout(() => this.fire(), k < 1 ? minMs : maxMs);
  }

  /** Records an independent confirmation; true if it was new (and so worth re-gossiping). */
  confirm(from: string): boolean {
    if (this.fired || this.n >= this.k || this.confirmations.has(from)) return false;
    this.confirmations.add(from);
    this.n++;
    const remaining = remainingSuspicionMs(this.n, this.k, this.clock.now() - this.start, this.min, this.max);
    this.clock.clearTimeout(this.timer);
    if (remaining > 0) this.timer = this.clock.setTimeout(() => this.fire(), remaining);
    else this.fire();
    return true;
  }

  get confirmationCount(): number {
    return this.n;
  }

  stop(): void {
    this.fired = true;
    this.clock.clearTimeout(this.timer);
  }

  private fire(): void {
    if (this.fired) return;
    this.fired = true;
    this.onTimeout(this.n);
  }
}

/** Time left after `elapsedMs` with n of k confirmations (whole milliseconds, floored at min). */
export function remainingSuspicionMs(n: number, k: number, elapsedMs: number, minMs: number, maxMs: number): number {
  const frac = Math.log(n + 1) / Math.log(k + 1);
  const raw = maxMs - frac * (maxMs - minMs);
  const timeout = Math.max(Math.floor(raw), minMs);
  return timeout - elapsedMs;
}
