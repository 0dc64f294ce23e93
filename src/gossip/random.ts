/**
 * The random source the protocol draws from (shuffles, probe targets, nonces).
 * Injected so the simulator can replay a run exactly from a seed.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
}

/** The runtime's random numbers, for real pools. */
export const systemRandom: Random = { next: () => Math.random() };

/**
 * A small seeded generator (mulberry32): fast, 32-bit state, good enough for
 * shuffles and jitter; never for keys.
 */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  return {
    next(): number {
      a = (a + 0x6d2b79f5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** An integer in [0, n). */
export function randomInt(r: Random, n: number): number {
  return Math.floor(r.next() * n);
}

/** Shuffles `items` in place (Fisher-Yates). */
export function shuffle<T>(r: Random, items: T[]): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = randomInt(r, i + 1);
    const t = items[i] as T;
    items[i] = items[j] as T;
    items[j] = t;
  }
}
