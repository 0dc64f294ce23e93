/**
 * Garbage collection: a hint to collect now (for long in-process simulations)
 * and the agent's heap growth on Node.
 */
import { setFlagsFromString } from "node:v8";
import { env, execArgv } from "./process.ts";

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

/** The agent's old-generation growth on Node: a full collection once the heap is twice what the last one kept. */
export const AGENT_HEAP_GROWING_PERCENT = 100;

/**
 * Bounds the agent's heap growth on Node, as Consul's Go runtime does with
 * its default GOGC=100 (the next collection when the heap reaches twice the
 * live data). V8 picks its own factor after each full collection, up to 4x
 * when the process spends little time collecting, which is how a quiet agent
 * spends it: a dev agent holding 100,000 instances (~100 MB live) sat at
 * 350 MB of heap (530 MB RSS) after a few large catalog reads, and stayed
 * there idle, since nothing allocated enough to start the next collection.
 * The cost is more full collections (most of their marking runs beside the
 * program). A factor the user gave (node --heap-growing-percent=N, also in
 * NODE_OPTIONS) wins; Bun (JavaScriptCore) and Deno are left as they are.
 * Returns whether it set the factor.
 */
export function boundAgentHeapGrowth(): boolean {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return heapGrowthFlag(g.Bun || g.Deno ? "other" : "node", [...execArgv(), env("NODE_OPTIONS") ?? ""], setFlagsFromString);
}

/** Sets the growth factor through `set` on Node unless an option names one already; whether it did. */
export function heapGrowthFlag(runtime: "node" | "other", options: readonly string[], set: (flag: string) => void): boolean {
  if (runtime !== "node" || options.some((a) => /heap[-_]growing[-_]percent/.test(a))) return false;
  set(`--heap-growing-percent=${AGENT_HEAP_GROWING_PERCENT}`);
  return true;
}
