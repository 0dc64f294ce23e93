/**
 * Retry delays that grow by a factor after each failure, up to a cap: one
 * place for the doubling every retry loop uses (the agent cache's refresh,
 * anti-entropy, the replicators, watches). A loop holds a `Backoff` and asks
 * `next()` before each wait, `reset()` after a success; code that counts its
 * failures itself asks `backoffDelay(n, ...)`.
 */

/** How a delay grows. */
export interface BackoffOptions {
  /** The first delay (ms). */
  readonly initialMs: number;
  /** The largest delay (ms), before jitter. */
  readonly maxMs: number;
  /** Growth after each failure; 2 unless told. */
  readonly factor?: number;
  /**
   * Up to this fraction of the delay is added at random (whole ms): 0 (the
   * default) adds nothing, 1 up to the delay again.
   */
  readonly jitter?: number;
  /** In [0, 1): draws the jitter; injected so tests are exact. */
  readonly random?: () => number;
}

/**
 * The delay after `n` growths: `initialMs * factor ** n`, at most `maxMs`.
 *
 * @example
 * ```ts
 * backoffDelay(0, { initialMs: 1_000, maxMs: 60_000 }); // 1000
 * backoffDelay(3, { initialMs: 1_000, maxMs: 60_000 }); // 8000
 * backoffDelay(9, { initialMs: 1_000, maxMs: 60_000 }); // 60000
 * ```
 */
export function backoffDelay(n: number, o: Pick<BackoffOptions, "initialMs" | "maxMs" | "factor">): number {
  return Math.min(o.initialMs * (o.factor ?? 2) ** n, o.maxMs);
}

/**
 * A retry loop's delay: `next()` answers the delay to wait now and grows the
 * following one, `reset()` starts again from `initialMs`.
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 200, maxMs: 2_000 });
 * backoff.next(); // 200
 * backoff.next(); // 400
 * backoff.reset();
 * backoff.next(); // 200
 * ```
 */
export class Backoff {
  readonly #o: BackoffOptions;
  #delay: number;

  constructor(o: BackoffOptions) {
    if (!(o.initialMs >= 0) || !(o.maxMs >= 0)) throw new RangeError(`Backoff delays must be 0 or more: initialMs ${o.initialMs}, maxMs ${o.maxMs}`);
    this.#o = o;
    this.#delay = o.initialMs;
  }

  /** The delay the next `next()` starts from (before jitter). */
  get current(): number {
    return this.#delay;
  }

  /** The delay to wait now (with jitter); the one after grows by the factor, up to the cap. */
  next(): number {
    const delay = this.#delay;
    this.#delay = Math.min(delay * (this.#o.factor ?? 2), this.#o.maxMs);
    const jitter = this.#o.jitter ?? 0;
    if (jitter === 0) return delay;
    return delay + Math.floor((this.#o.random ?? Math.random)() * delay * jitter);
  }

  /** After a success: the next delay is the first again. */
  reset(): void {
    this.#delay = this.#o.initialMs;
  }
}
