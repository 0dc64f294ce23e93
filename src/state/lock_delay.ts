import type { WriteContext } from "./context.ts";
import type { Tables } from "./tables.ts";
import { MAX_LOCK_DELAY_MS } from "../structs/session.ts";

/** True while a key is inside the lock-delay left by an invalidated session. */
export function invalidLockDelayActive(t: Tables, key: string, now: number): boolean {
  const until = t.lockDelay.get(key);
  return until !== undefined && until > now;
}

/** Consul caps the delay at invalidation time (structs.MaxLockDelay), whatever the session asked for. */
export function setLockDelay(ctx: WriteContext, key: string, delayMs: number): void {
  if (delayMs > 0) ctx.t.lockDelay.set(key, ctx.now + Math.min(delayMs, MAX_LOCK_DELAY_MS));
}

/** Forgets lock-delays that have passed, so the table stays small. */
export function pruneLockDelays(ctx: WriteContext): void {
  for (const [key, until] of [...ctx.t.lockDelay.entries()]) {
    if (until <= ctx.now) ctx.t.lockDelay.delete(key);
  }
}
