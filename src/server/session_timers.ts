/**
 * Session TTL enforcement (a leader duty): a session with a TTL is destroyed
 * when not renewed within 2×TTL (Consul's SessionTTLMultiplier). Renewals
 * only re-arm the timer; they are not log writes.
 */
import type { Clock } from "./clock.ts";
import { parseGoDuration } from "../structs/duration.ts";
import { SESSION_TTL_MULTIPLIER } from "../structs/session.ts";

export class SessionTimers {
  private readonly timers = new Map<string, unknown>();
  private readonly clock: Clock;
  private readonly expire: (id: string) => void;

  constructor(clock: Clock, expire: (id: string) => void) {
    this.clock = clock;
    this.expire = expire;
  }

  /** (Re)starts the timer of a session; no-op for sessions without a TTL. */
  arm(id: string, ttl: string): void {
    const ms = ttl === "" ? 0 : (parseGoDuration(ttl) ?? 0);
    this.disarm(id);
    if (ms <= 0) return;
    this.timers.set(
      id,
      this.clock.setTimeout(() => {
        this.timers.delete(id);
        this.expire(id);
      }, ms * SESSION_TTL_MULTIPLIER),
    );
  }

  disarm(id: string): void {
    const t = this.timers.get(id);
    if (t !== undefined) {
      this.clock.clearTimeout(t);
      this.timers.delete(id);
    }
  }

  armedIds(): string[] {
    return [...this.timers.keys()];
  }

  stopAll(): void {
    for (const id of [...this.timers.keys()]) this.disarm(id);
  }
}
