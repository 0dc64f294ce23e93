/**
 * The loop every probing check shares (Consul's run()): the first probe after
 * a random stagger within the interval, the next one an interval after the
 * previous finished, results through the StatusHandler.
 */
import type { Clock } from "../../server/clock.ts";
import type { CheckKind } from "./validate.ts";
import { Reporter } from "./reporter.ts";
import { StatusHandler, type Thresholds } from "./status_handler.ts";
import type { CheckRunner, CheckStatus, RunnerEnv } from "./types.ts";

export interface ProbeResult {
  status: CheckStatus;
  output: string;
  /** Reported as is, skipping the thresholds (Consul does this for script timeouts and start failures). */
  direct?: boolean;
}

/** A single probe; `signal` aborts when the check stops. It must not throw. */
export type Probe = (signal: AbortSignal) => Promise<ProbeResult>;

export interface PeriodicOptions {
  kind: CheckKind;
  intervalMs: number;
  initial: CheckStatus;
  thresholds: Thresholds;
  probe: Probe;
}

export class PeriodicCheck implements CheckRunner {
  readonly kind: CheckKind;
  private readonly reporter: Reporter;
  private readonly handler: StatusHandler;
  private timer: unknown = null;
  private inflight: AbortController | null = null;
  private running = false;
  private readonly opts: PeriodicOptions;
  private readonly env: RunnerEnv;

  constructor(opts: PeriodicOptions, env: RunnerEnv) {
    this.opts = opts;
    this.env = env;
    this.kind = opts.kind;
    this.reporter = new Reporter(opts.initial, env);
    this.handler = new StatusHandler(opts.thresholds, (s, o) => this.reporter.report(s, o));
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

  start(): void {
    if (this.running) return;
    this.running = true;
    this.reporter.live = true;
    const stagger = Math.floor(this.env.random() * this.opts.intervalMs);
    this.schedule(stagger);
  }

  stop(): void {
    this.running = false;
    this.reporter.live = false;
    if (this.timer !== null) this.env.clock.clearTimeout(this.timer);
    this.timer = null;
    this.inflight?.abort();
    this.inflight = null;
  }

  private schedule(ms: number): void {
    this.timer = this.env.clock.setTimeout(() => {
      this.timer = null;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    const ctrl = new AbortController();
    this.inflight = ctrl;
    let result: ProbeResult;
    try {
      result = await this.opts.probe(ctrl.signal);
    } catch (err) {
      result = { status: "critical", output: err instanceof Error ? err.message : String(err) };
    }
    if (ctrl.signal.aborted || !this.running) return;
    this.inflight = null;
    if (result.direct) this.reporter.report(result.status, result.output);
    else this.handler.update(result.status, result.output);
    this.schedule(this.opts.intervalMs);
  }
}

/**
 * An AbortSignal that fires on `parent` or after `ms` on `clock`, whichever
 * comes first; `timedOut()` tells which. Call `done()` to drop the timer.
 */
export function deadline(clock: Clock, ms: number, parent: AbortSignal): { signal: AbortSignal; timedOut(): boolean; done(): void } {
  const ctrl = new AbortController();
  let expired = false;
  const onParent = () => ctrl.abort(parent.reason);
  if (parent.aborted) ctrl.abort(parent.reason);
  else parent.addEventListener("abort", onParent, { once: true });
  const timer = clock.setTimeout(() => {
    expired = true;
    ctrl.abort(new Error("deadline exceeded"));
  }, ms);
  return {
    signal: ctrl.signal,
    timedOut: () => expired,
    done: () => {
      clock.clearTimeout(timer);
      parent.removeEventListener("abort", onParent);
    },
  };
}
