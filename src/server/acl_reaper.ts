/**
 * Expired-token reaping, a leader duty (Consul's startACLTokenReaping):
 * tokens past their ExpirationTime stop resolving at once (ServerAcl.resolve
 * checks the clock); this deletes them from the state through the log, in
 * batches. Local tokens are reaped by every datacenter's leader, global
 * tokens only by the primary's (secondaries receive the deletions by
 * replication).
 */
import { ACL_TOKENS_TABLE } from "../state/mod.ts";
import type { Tables } from "../state/tables.ts";
import type { Clock } from "./clock.ts";

/** Tokens deleted per log entry (Consul's aclBatchDeleteSize is 128 in recent versions). */
export const REAP_BATCH = 128;
const TICK_MS = 1_000;

export interface ReaperHooks {
  readonly clock: Clock;
  readonly tables: () => Tables;
  readonly enabled: () => boolean;
  readonly isLeader: () => boolean;
  /** Whether this datacenter reaps global tokens (it is the primary). */
  readonly reapsGlobal: () => boolean;
  readonly deleteTokens: (accessorIds: string[]) => Promise<unknown>;
}

/** The accessor IDs of expired tokens of one locality, oldest expiry first, at most `limit`. */
export function expiredTokens(t: Tables, now: number, local: boolean, limit: number): string[] {
  const found: { id: string; at: number }[] = [];
  for (const tok of t.aclTokens.values()) {
    if (tok.Local !== local || !tok.ExpirationTime) continue;
    const at = Date.parse(tok.ExpirationTime);
    if (at <= now) found.push({ id: tok.AccessorID, at });
  }
  found.sort((a, b) => a.at - b.at);
  return found.slice(0, limit).map((f) => f.id);
}

export class AclTokenReaper {
  private readonly h: ReaperHooks;
  private timer: unknown = null;
  private busy = false;
  /** The earliest expiry seen at `scannedIndex` (Infinity: none); a scan is skipped until the clock reaches it. */
  private nextExpiry = 0;
  private scannedIndex = -1;

  constructor(hooks: ReaperHooks) {
    this.h = hooks;
  }

  start(): void {
    if (this.timer !== null) return;
    const tick = () => {
      void this.reapOnce().finally(() => {
        if (this.timer !== null) this.timer = this.h.clock.setTimeout(tick, TICK_MS);
      });
    };
    this.timer = this.h.clock.setTimeout(tick, TICK_MS);
  }

  stop(): void {
    if (this.timer !== null) this.h.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  /** One round: deletes up to a batch of expired tokens per locality; answers how many. */
  async reapOnce(): Promise<number> {
    if (this.busy || !this.h.enabled() || !this.h.isLeader()) return 0;
    const t = this.h.tables();
    const now = this.h.clock.now();
    const index = t.maxIndex(ACL_TOKENS_TABLE);
    if (index === this.scannedIndex && now < this.nextExpiry) return 0;
    this.busy = true;
    try {
      let n = 0;
      for (const local of [true, false]) {
        if (!local && !this.h.reapsGlobal()) continue;
        const ids = expiredTokens(t, now, local, REAP_BATCH);
        if (ids.length === 0) continue;
        await this.h.deleteTokens(ids);
        n += ids.length;
      }
      this.remember(this.h.tables());
      return n;
    } catch {
      // Not leading any more, or the log is out of reach: the next tick tries again.
      this.scannedIndex = -1;
      return 0;
    } finally {
      this.busy = false;
    }
  }

  private remember(t: Tables): void {
    let next = Infinity;
    for (const tok of t.aclTokens.values()) {
      if (!tok.ExpirationTime) continue;
      const at = Date.parse(tok.ExpirationTime);
      if (at < next) next = at;
    }
    this.nextExpiry = next;
    this.scannedIndex = t.maxIndex(ACL_TOKENS_TABLE);
  }
}
