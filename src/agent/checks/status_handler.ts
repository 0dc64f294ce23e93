/**
 * Consul's StatusHandler: a check turns passing only after
 * SuccessBeforePassing consecutive successes and warning/critical only after
 * FailuresBeforeWarning/FailuresBeforeCritical consecutive failures. The
 * counters start at their thresholds, so the first result after start is
 * reported at once.
 */
import type { CheckStatus } from "./types.ts";

export interface Thresholds {
  successBeforePassing: number;
  failuresBeforeWarning: number;
  failuresBeforeCritical: number;
}

export class StatusHandler {
  private successCounter: number;
  private failuresCounter: number;
  private readonly t: Thresholds;
  private readonly notify: (status: CheckStatus, output: string) => void;

  constructor(thresholds: Thresholds, notify: (status: CheckStatus, output: string) => void) {
    this.notify = notify;
    // Consul's agent defaults FailuresBeforeWarning to FailuresBeforeCritical.
    this.t = {
      ...thresholds,
      failuresBeforeWarning: thresholds.failuresBeforeWarning || thresholds.failuresBeforeCritical,
    };
    this.successCounter = this.t.successBeforePassing;
    this.failuresCounter = this.t.failuresBeforeCritical;
  }

  update(status: CheckStatus, output: string): void {
    if (status === "passing" || status === "warning") {
      this.successCounter++;
      this.failuresCounter = 0;
      if (this.successCounter >= this.t.successBeforePassing) this.notify(status, output);
      return;
    }
    this.failuresCounter++;
    this.successCounter = 0;
    if (this.failuresCounter >= this.t.failuresBeforeCritical) this.notify(status, output);
    else if (this.failuresCounter >= this.t.failuresBeforeWarning) this.notify("warning", output);
  }
}
