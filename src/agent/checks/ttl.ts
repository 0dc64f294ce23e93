/**
 * TTL checks (Consul's CheckTTL): nothing is probed; the status is set from
 * outside (`/v1/agent/check/pass|warn|fail|update`) and turns critical with
 * "TTL expired" when it is not set again within the TTL.
 */
import { truncateTtlOutput } from "./output.ts";
import { Reporter } from "./reporter.ts";
import type { CheckRunner, CheckStatus, RunnerEnv } from "./types.ts";
import { CheckKind } from "./validate.ts";

export interface TtlOptions {
  ttlMs: number;
  initial: CheckStatus;
  outputMaxSize: number;
}

export class TtlCheck implements CheckRunner {
  readonly kind = CheckKind.TTL;
  private readonly reporter: Reporter;
  private timer: unknown = null;
  private running = false;
  private lastOutput = "";
  private readonly opts: TtlOptions;
  private readonly env: RunnerEnv;

  constructor(opts: TtlOptions, env: RunnerEnv) {
    this.opts = opts;
    this.env = env;
    this.reporter = new Reporter(opts.initial, env);
    // Updates come synchronously from the API, never stale, so they count even before start.
    this.reporter.live = true;
  }

  get status(): CheckStatus {
    return this.reporter.status;
  }
  get output(): string {
    return this.reporter.output;
  }
  get criticalSince(): number | null {
    return this.reporter.criticalSince;
  }
  get ttlMs(): number {
    return this.opts.ttlMs;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    this.disarm();
  }

  /**
   * Sets the status and restarts the TTL. Returns the output as stored,
   * which is cut to the output limit with Consul's `... (captured N of M bytes)`.
   */
  update(status: CheckStatus, output: string): string {
    const stored = truncateTtlOutput(output, this.opts.outputMaxSize);
    this.reporter.report(status, stored);
    this.lastOutput = stored;
    if (this.running) this.arm();
    return stored;
  }

  pass(note = ""): string {
    return this.update("passing", note);
  }
  warn(note = ""): string {
    return this.update("warning", note);
  }
  fail(note = ""): string {
    return this.update("critical", note);
  }

  private arm(): void {
    this.disarm();
    this.timer = this.env.clock.setTimeout(() => {
      this.timer = null;
      this.env.logger?.warn(`Check missed TTL, is now critical`);
      this.reporter.report("critical", this.expiredOutput());
    }, this.opts.ttlMs);
  }

  private disarm(): void {
    if (this.timer !== null) this.env.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private expiredOutput(): string {
    return this.lastOutput === "" ? "TTL expired" : `TTL expired (last output before timeout follows): ${this.lastOutput}`;
  }
}
