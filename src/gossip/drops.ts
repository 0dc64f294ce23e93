/**
 * Counts inbound gossip that is thrown away (bad key, replay, truncated...)
 * and says so in the debug log: the first drop of each reason at once, then
 * at most one line per reason a second with how many came meanwhile, so a
 * flood cannot flood the log too. The counters are the pool's stats, which
 * /v1/agent/metrics exposes.
 */
import type { Clock } from "./clock.ts";
import type { DropReason } from "./packet.ts";
import type { PoolStats } from "./types.ts";

type Log = (level: "debug" | "info" | "warn" | "error", msg: string) => void;

const LOG_EVERY_MS = 1000;

export class DropCounter {
  private readonly stats: PoolStats;
  private readonly log: Log;
  private readonly clock: Clock;
  private readonly lastLogged = new Map<DropReason, { at: number; unlogged: number }>();

  constructor(stats: PoolStats, log: Log, clock: Clock) {
    this.stats = stats;
    this.log = log;
    this.clock = clock;
  }

  drop(reason: DropReason, from: string): void {
    this.stats.dropped[reason]++;
    const now = this.clock.now();
    const last = this.lastLogged.get(reason);
    if (last !== undefined && now - last.at < LOG_EVERY_MS) {
      last.unlogged++;
      return;
    }
    const more = last !== undefined && last.unlogged > 0 ? ` (and ${last.unlogged} more since the last report)` : "";
    this.lastLogged.set(reason, { at: now, unlogged: 0 });
    this.log("debug", `Dropped a gossip message from ${from}: ${reason}${more}`);
  }
}
