/**
 * Passive health checking (a PassiveHealthCheck, Envoy's outlier detection
 * on consecutive 5xx): an endpoint that fails MaxFailures times in a row is
 * ejected (EnforcingConsecutive5xx percent of the time, never more than
 * MaxEjectionPercent of the cluster but always at least one) for
 * BaseEjectionTime times the number of times it was ejected, and is let back
 * at the first sweep (every Interval) after that.
 */

export interface PassiveHealthCheckConfig {
  /** Sweep interval, ms (default 10 s). */
  readonly intervalMs?: number;
  /** Consecutive failures that eject (default 5). */
  readonly maxFailures?: number;
  /** Percent chance an ejection is enforced (default 100). */
  readonly enforcingConsecutive5xx?: number;
  /** Default 10; at least one endpoint may always be ejected. */
  readonly maxEjectionPercent?: number;
  /** ms (default 30 s). */
  readonly baseEjectionTimeMs?: number;
}

interface State {
  consecutive: number;
  ejectedAt: number | null;
  ejections: number;
}

export class OutlierDetector {
  private readonly c: Required<PassiveHealthCheckConfig>;
  private readonly states = new Map<string, State>();
  private readonly now: () => number;
  private readonly random: () => number;
  private lastSweep: number;

  constructor(c: PassiveHealthCheckConfig, now: () => number = Date.now, random: () => number = Math.random) {
    this.c = {
      intervalMs: c.intervalMs || 10_000,
      maxFailures: c.maxFailures || 5,
      enforcingConsecutive5xx: c.enforcingConsecutive5xx ?? 100,
      maxEjectionPercent: c.maxEjectionPercent ?? 10,
      baseEjectionTimeMs: c.baseEjectionTimeMs ?? 30_000,
    };
    this.now = now;
    this.random = random;
    this.lastSweep = now();
  }

  private state(key: string): State {
    let s = this.states.get(key);
    if (!s) {
      s = { consecutive: 0, ejectedAt: null, ejections: 0 };
      this.states.set(key, s);
    }
    return s;
  }

  /** Readmits endpoints whose ejection ran out, once per interval. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < this.c.intervalMs) return;
    this.lastSweep = now;
    for (const s of this.states.values()) {
      if (s.ejectedAt !== null && now - s.ejectedAt >= this.c.baseEjectionTimeMs * s.ejections) {
        s.ejectedAt = null;
        s.consecutive = 0;
      } else if (s.ejectedAt === null && s.ejections > 0 && s.consecutive === 0) {
        s.ejections--;
      }
    }
  }

  isEjected(key: string): boolean {
    this.sweep();
    return this.states.get(key)?.ejectedAt != null;
  }

  /** Records one response (or connect failure) of `key`; `clusterSize` bounds how many may be out. */
  report(key: string, failed: boolean, clusterSize: number): void {
    const s = this.state(key);
    if (!failed) {
      s.consecutive = 0;
      return;
    }
    s.consecutive++;
    if (s.ejectedAt !== null || s.consecutive < this.c.maxFailures) return;
    s.consecutive = 0;
    if (this.random() * 100 >= this.c.enforcingConsecutive5xx) return;
    let out = 0;
    for (const x of this.states.values()) if (x.ejectedAt !== null) out++;
    const allowed = Math.max(1, Math.floor((clusterSize * this.c.maxEjectionPercent) / 100));
    if (out >= allowed) return;
    s.ejectedAt = this.now();
    s.ejections++;
  }

  /** Ejection state per endpoint, for the admin view. */
  snapshot(): Record<string, { ejected: boolean; consecutiveFailures: number; ejections: number }> {
    this.sweep();
    const out: Record<string, { ejected: boolean; consecutiveFailures: number; ejections: number }> = {};
    for (const [k, s] of this.states) out[k] = { ejected: s.ejectedAt !== null, consecutiveFailures: s.consecutive, ejections: s.ejections };
    return out;
  }

  /** Forgets endpoints no longer in the cluster. */
  retain(keys: ReadonlySet<string>): void {
    for (const k of [...this.states.keys()]) if (!keys.has(k)) this.states.delete(k);
  }
}
