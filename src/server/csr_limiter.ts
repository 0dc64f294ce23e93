/**
 * CSR admission, as Consul's connectSignRateLimiter: with CSRMaxPerSecond > 0
 * a token bucket of burst 1 at that rate, where a request may wait up to
 * 500 ms for its token; otherwise, with CSRMaxConcurrent > 0, a semaphore a
 * request may wait 500 ms to enter. A request that cannot get in is refused
 * with Consul's "Rate limit reached, try again later".
 */
import type { Clock } from "./clock.ts";
import { RateLimitedError } from "../connect/errors.ts";

/** How long a signing request may wait for its turn (Consul's csrLimitWait). */
export const CSR_LIMIT_WAIT_MS = 500;

export interface CsrLimits {
  readonly perSecond: number;
  readonly maxConcurrent: number;
}

export class CsrLimiter {
  private readonly clock: Clock;
  /** When the next token is free (ms since epoch). */
  private nextFree = 0;
  private rate = 0;
  private inFlight = 0;
  private readonly queue: { grant: () => void }[] = [];

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /** Waits for admission; the returned function ends the request's turn. */
  async acquire(limits: CsrLimits): Promise<() => void> {
    if (limits.perSecond > 0) {
      if (limits.perSecond !== this.rate) {
        // A changed limit starts a fresh bucket, as Consul swaps its limiter.
        this.rate = limits.perSecond;
        this.nextFree = 0;
      }
      const now = this.clock.now();
      const at = Math.max(now, this.nextFree);
      if (at - now > CSR_LIMIT_WAIT_MS) throw new RateLimitedError();
      this.nextFree = at + 1000 / limits.perSecond;
      if (at > now) await new Promise<void>((r) => this.clock.setTimeout(r, at - now));
      return () => {};
    }
    if (limits.maxConcurrent > 0) {
      // A released slot passes straight to the next waiter, so none is counted twice.
      if (this.inFlight < limits.maxConcurrent) this.inFlight++;
      else await this.wait();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const next = this.queue.shift();
        if (next) next.grant();
        else this.inFlight--;
      };
    }
    return () => {};
  }

  private wait(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const entry = {
        grant: () => {
          this.clock.clearTimeout(timer);
          resolve();
        },
      };
      const timer = this.clock.setTimeout(() => {
        const i = this.queue.indexOf(entry);
        if (i >= 0) this.queue.splice(i, 1);
        reject(new RateLimitedError());
      }, CSR_LIMIT_WAIT_MS);
      this.queue.push(entry);
    });
  }
}
