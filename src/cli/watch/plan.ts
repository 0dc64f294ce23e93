/**
 * The watch loop (Consul's api/watch/plan.go): block on the view, skip
 * answers whose index or content did not change, hand each change to the
 * handler, and back off quadratically (5s × failures², at most 3m) when a
 * read fails.
 */
import type { WatchResult } from "./funcs.ts";
import { encodeJson } from "../../api/mod.ts";

export const RETRY_INTERVAL_MS = 5_000;
export const MAX_BACKOFF_MS = 180_000;

export interface PlanOptions {
  /** Reads the view; `last` is the index to block on (0n: answer at once). */
  readonly watch: (last: bigint, signal: AbortSignal) => Promise<WatchResult>;
  readonly handler: (index: bigint, result: unknown) => Promise<void> | void;
  readonly onError: (err: unknown, retryMs: number) => void;
  /** Stops the plan; a parked read is abandoned. */
  readonly signal: AbortSignal;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}

export async function runPlan(o: PlanOptions): Promise<void> {
  const sleep = o.sleep ?? abortableSleep;
  let last: bigint | null = null;
  let lastResult: string | null = null;
  let failures = 0;
  while (!o.signal.aborted) {
    let got: WatchResult;
    try {
      got = await o.watch(last ?? 0n, o.signal);
    } catch (err) {
      if (o.signal.aborted) break;
      failures++;
      last = null;
      const retry = Math.min(RETRY_INTERVAL_MS * failures * failures, MAX_BACKOFF_MS);
      o.onError(err, retry);
      await sleep(retry, o.signal);
      continue;
    }
    if (o.signal.aborted) break;
    failures = 0;
    if (last !== null && last === got.index) continue;
    const previous: bigint | null = last;
    // An index equal to the previous one starts over from 0 (WaitIndexVal.Next).
    last = previous !== null && previous === got.index ? 0n : got.index;
    const encoded = encodeJson(got.result);
    if (previous !== null && encoded === lastResult) continue;
    lastResult = encoded;
    await o.handler(got.index, got.result);
  }
}
