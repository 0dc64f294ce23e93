/** Tracks what a check last reported and passes it on, so every runner exposes the same state. */
import type { CheckStatus, RunnerEnv } from "./types.ts";

export class Reporter {
  status: CheckStatus;
  output = "";
  criticalSince: number | null;
  /** While false, reports are dropped: a stopped check must not overwrite newer state. */
  live = false;
  private readonly env: RunnerEnv;

  constructor(initial: CheckStatus, env: RunnerEnv) {
    this.env = env;
    this.status = initial;
    this.criticalSince = initial === "critical" ? env.clock.now() : null;
  }

  report(status: CheckStatus, output: string): void {
    if (!this.live) return;
    if (status !== "critical") this.criticalSince = null;
    else if (this.status !== "critical" || this.criticalSince === null) this.criticalSince = this.env.clock.now();
    this.status = status;
    this.output = output;
    this.env.onUpdate({ status, output });
  }
}

/** The definition's initial Status; Consul registers checks critical unless told otherwise. */
export function initialStatus(status: string): CheckStatus {
  return status === "passing" || status === "warning" ? status : "critical";
}
