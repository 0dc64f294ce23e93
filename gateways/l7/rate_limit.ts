/**
 * Instance-level rate limits (service-defaults RateLimits.InstanceLevel): a
 * token bucket of RequestsPerSecond refilled continuously, holding up to
 * RequestsMaxBurst (default: RequestsPerSecond), plus one bucket per route
 * (PathExact / PathPrefix / PathRegex) that takes precedence for its paths.
 */
import { fullMatch } from "../../src/connect/intentions.ts";

export interface RateLimitRoute {
  readonly PathExact?: string;
  readonly PathPrefix?: string;
  readonly PathRegex?: string;
  readonly RequestsPerSecond?: number;
  readonly RequestsMaxBurst?: number;
}

export interface InstanceRateLimits {
  readonly RequestsPerSecond?: number;
  readonly RequestsMaxBurst?: number;
  readonly Routes?: readonly RateLimitRoute[] | null;
}

class Bucket {
  private tokens: number;
  private last: number;
  private readonly rate: number;
  private readonly burst: number;
  constructor(rate: number, burst: number, now: number) {
    this.rate = rate;
    this.burst = Math.max(1, burst || rate);
    this.tokens = this.burst;
    this.last = now;
  }
  take(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

export class RateLimiter {
  private readonly base: Bucket | null;
  private readonly routes: { route: RateLimitRoute; bucket: Bucket }[];
  private readonly now: () => number;

  constructor(c: InstanceRateLimits, now: () => number = Date.now) {
    this.now = now;
    const t = now();
    this.base = (c.RequestsPerSecond ?? 0) > 0 ? new Bucket(c.RequestsPerSecond!, c.RequestsMaxBurst ?? 0, t) : null;
    this.routes = (c.Routes ?? []).filter((r) => (r.RequestsPerSecond ?? 0) > 0).map((route) => ({ route, bucket: new Bucket(route.RequestsPerSecond!, route.RequestsMaxBurst ?? 0, t) }));
  }

  get active(): boolean {
    return this.base !== null || this.routes.length > 0;
  }

  /** Whether a request for `path` (no query) may pass now. */
  allow(path: string): boolean {
    const now = this.now();
    for (const { route, bucket } of this.routes) {
      const hit = route.PathExact ? path === route.PathExact : route.PathPrefix ? path.startsWith(route.PathPrefix) : route.PathRegex ? fullMatch(route.PathRegex, path) : false;
      if (hit) return bucket.take(now);
    }
    return this.base ? this.base.take(now) : true;
  }
}
