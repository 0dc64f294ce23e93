/**
 * A hint to collect garbage now, for long in-process simulations that
 * allocate faster than the collector keeps up with. Bun exposes Bun.gc;
 * Node and Deno expose gc() only when started with --expose-gc; otherwise
 * this does nothing.
 */
export function collectGarbage(): void {
  const g = globalThis as { Bun?: { gc(force: boolean): void }; gc?: () => void };
  if (g.Bun) g.Bun.gc(true);
  else g.gc?.();
}
