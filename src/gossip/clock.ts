/**
 * Time as the gossip core sees it. The same shape as the server's Clock, so
 * one fake clock drives both in tests; the simulator brings its own virtual one.
 */
export interface Clock {
  /** Milliseconds since the epoch; fractional where the source allows (RTTs need it). */
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Wall time with sub-millisecond resolution (loopback RTTs are tens of µs). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};
