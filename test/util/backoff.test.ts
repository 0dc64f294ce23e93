import { expect, test } from "bun:test";
import { Backoff, backoffDelay } from "../../src/util/mod.ts";

test("doubles from the first delay up to the cap, and starts again after reset", () => {
  const b = new Backoff({ initialMs: 1_000, maxMs: 60_000 });
  const seen = Array.from({ length: 9 }, () => b.next());
  expect(seen).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
  b.reset();
  expect(b.current).toBe(1_000);
  expect(b.next()).toBe(1_000);
  expect(b.current).toBe(2_000);
});

test("a cap that is not a power of two away is reached, never passed", () => {
  const b = new Backoff({ initialMs: 200, maxMs: 2_000 });
  expect(Array.from({ length: 6 }, () => b.next())).toEqual([200, 400, 800, 1_600, 2_000, 2_000]);
});

test("another factor grows by it", () => {
  const b = new Backoff({ initialMs: 100, maxMs: 10_000, factor: 3 });
  expect(Array.from({ length: 5 }, () => b.next())).toEqual([100, 300, 900, 2_700, 8_100]);
  expect(b.next()).toBe(10_000);
});

test("jitter adds a whole share of the delay drawn from the injected random", () => {
  const draws = [0, 0.5, 0.999, 0.25];
  const b = new Backoff({ initialMs: 1_000, maxMs: 4_000, jitter: 1, random: () => draws.shift()! });
  // 1000 + 0, 2000 + 1000, 4000 + 3996, 4000 + 1000: the cap holds before jitter.
  expect(Array.from({ length: 4 }, () => b.next())).toEqual([1_000, 3_000, 7_996, 5_000]);
  const half = new Backoff({ initialMs: 1_000, maxMs: 1_000, jitter: 0.5, random: () => 0.999 });
  expect(half.next()).toBe(1_499);
});

test("a negative or missing delay is refused", () => {
  expect(() => new Backoff({ initialMs: -1, maxMs: 10 })).toThrow(RangeError);
  expect(() => new Backoff({ initialMs: 1, maxMs: Number.NaN })).toThrow(RangeError);
});

test("backoffDelay answers the delay after n growths, capped", () => {
  const o = { initialMs: 1_000, maxMs: 60_000 };
  expect([0, 1, 2, 5, 6, 40, 5_000].map((n) => backoffDelay(n, o))).toEqual([1_000, 2_000, 4_000, 32_000, 60_000, 60_000, 60_000]);
  expect(backoffDelay(2, { initialMs: 25, maxMs: 400, factor: 3 })).toBe(225);
  expect(backoffDelay(3, { initialMs: 0, maxMs: 400 })).toBe(0);
});
