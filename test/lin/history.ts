/**
 * Records a KV history as clients see it: each operation's call and return
 * times on one monotonic clock, its input, and its output, or no output and a
 * return at infinity when the outcome is unknown (a timeout, a reset
 * connection, a 5xx): such an operation may have taken effect at any later
 * moment, or never, as Jepsen records "info" operations.
 */
import type { KvInput, KvOutput, Operation } from "./checker.ts";

export interface HistoryStats {
  ok: number;
  /** Definitely not applied (connection refused, 4xx): left out of the history. */
  failed: number;
  /** Outcome unknown: recorded with end = Infinity. */
  ambiguous: number;
  /** Acknowledged writes (put true, cas true). */
  ackedWrites: number;
}

export class History {
  readonly ops: Operation<KvInput, KvOutput>[] = [];
  readonly stats: HistoryStats = { ok: 0, failed: 0, ambiguous: 0, ackedWrites: 0 };
  private readonly clock: () => number;

  constructor(clock: () => number = () => performance.now()) {
    this.clock = clock;
  }

  now(): number {
    return this.clock();
  }

  ok(client: number, input: KvInput, output: KvOutput, start: number): void {
    this.ops.push({ client, input, output, start, end: this.clock() });
    this.stats.ok++;
    if (input.op !== "get" && output === true) this.stats.ackedWrites++;
  }

  /** A read that failed in any way tells nothing and changes nothing: it is left out. */
  failed(): void {
    this.stats.failed++;
  }

  ambiguous(client: number, input: KvInput, start: number): void {
    this.ops.push({ client, input, output: undefined, start, end: Infinity });
    this.stats.ambiguous++;
  }

  /** JSON lines for a failing run, so it can be replayed through the checker. */
  dump(): string {
    return this.ops.map((o) => JSON.stringify({ ...o, end: o.end === Infinity ? "inf" : o.end })).join("\n");
  }
}
