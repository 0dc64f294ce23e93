/**
 * Alias checks (Consul's CheckAlias): mirror the health of another service
 * instance and/or node. Any critical check makes the alias critical, else
 * any warning makes it warning, else it passes. The agent supplies the
 * checks through an AliasSource (its local state, or the catalog for
 * another node) and says when they change.
 */
import { Reporter } from "./reporter.ts";
import type { CheckRunner, CheckStatus, RunnerEnv } from "./types.ts";
import { CheckKind } from "./validate.ts";
import { backoffDelay } from "../../util/mod.ts";

/** The fields of a HealthCheck an alias looks at. */
export interface AliasCheckView {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Output: string;
  ServiceID: string;
}

/** What is aliased: `node` "" means this agent's node, `serviceId` "" means the node itself. */
export interface AliasTarget {
  node: string;
  serviceId: string;
}

export interface AliasSource {
  /** This agent's checks (all of them) when `target.node` is "", else the checks registered on that node. */
  checks(target: AliasTarget): Promise<readonly AliasCheckView[]> | readonly AliasCheckView[];
  /** Whether `target.serviceId` is registered (here, or on `target.node`). */
  serviceExists(target: AliasTarget): Promise<boolean> | boolean;
  /** Calls `onChange` whenever the checks may have changed; returns a function that unsubscribes. */
  subscribe(target: AliasTarget, onChange: () => void): () => void;
}

/** Re-read even without a change notice this often, in case one was missed (Consul's 1 minute). */
export const ALIAS_REFRESH_MS = 60_000;
const BACKOFF_MIN_ATTEMPTS = 3;
const BACKOFF_MAX_MS = 60_000;

export class AliasCheck implements CheckRunner {
  readonly kind = CheckKind.Alias;
  private readonly reporter: Reporter;
  private unsubscribe: (() => void) | null = null;
  private timer: unknown = null;
  private busy = false;
  private again = false;
  private attempt = 0;
  private generation = 0;
  private readonly target: AliasTarget;
  private readonly source: AliasSource;
  private readonly env: RunnerEnv;

  constructor(target: AliasTarget, initial: CheckStatus, source: AliasSource, env: RunnerEnv) {
    this.target = target;
    this.source = source;
    this.env = env;
    this.reporter = new Reporter(initial, env);
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
    if (this.unsubscribe) return;
    this.reporter.live = true;
    this.generation++;
    this.unsubscribe = this.source.subscribe(this.target, () => this.refresh());
    this.refresh();
  }

  stop(): void {
    this.reporter.live = false;
    this.generation++;
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.clearTimer();
    this.busy = false;
    this.again = false;
  }

  /** Reads the aliased checks now; calls arriving meanwhile collapse into one more read. */
  private refresh(): void {
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.clearTimer();
    const gen = this.generation;
    void this.readOnce().then((retryIn) => {
      if (gen !== this.generation) return;
      this.busy = false;
      if (this.again) {
        this.again = false;
        return this.refresh();
      }
      this.setTimer(retryIn ?? ALIAS_REFRESH_MS);
    });
  }

  /** Returns a retry delay after a failure, or null after a successful read. */
  private async readOnce(): Promise<number | null> {
    let checks: readonly AliasCheckView[];
    try {
      checks = await this.source.checks(this.target);
    } catch (err) {
      this.attempt++;
      if (this.attempt > 1) {
        const msg = err instanceof Error ? err.message : String(err);
        this.reporter.report("critical", `Failure checking aliased node or service: ${msg}`);
      }
      if (this.attempt <= BACKOFF_MIN_ATTEMPTS) return 0;
      return backoffDelay(this.attempt - BACKOFF_MIN_ATTEMPTS, { initialMs: 1_000, maxMs: BACKOFF_MAX_MS });
    }
    this.attempt = 0;
    const [status, output] = await this.evaluate(checks);
    this.reporter.report(status, output);
    return null;
  }

  private async evaluate(checks: readonly AliasCheckView[]): Promise<[CheckStatus, string]> {
    let health: CheckStatus = "passing";
    let msg = "No checks found.";
    let serviceFound = false;
    const { node, serviceId } = this.target;
    for (const chk of checks) {
      if (node !== "" && node.toLowerCase() !== chk.Node.toLowerCase()) continue;
      const serviceMatch = chk.ServiceID === serviceId;
      if (chk.ServiceID !== "" && !serviceMatch) continue;
      if (serviceMatch) serviceFound = true;
      if (chk.Status === "critical" || chk.Status === "warning") {
        health = chk.Status;
        msg = `Aliased check ${JSON.stringify(chk.Name)} failing: ${chk.Output}`;
        if (chk.Status === "critical") break;
      } else if (health === "passing") {
        msg = "All checks passing.";
      }
    }
    if (!serviceFound && !(await this.exists())) {
      return ["critical", `Service ${serviceId} could not be found on node ${node}`];
    }
    return [health, msg];
  }

  /** A lookup that fails counts as found: the alias cannot tell, and Consul assumes so. */
  private async exists(): Promise<boolean> {
    try {
      return await this.source.serviceExists(this.target);
    } catch {
      return true;
    }
  }

  private setTimer(ms: number): void {
    this.clearTimer();
    this.timer = this.env.clock.setTimeout(() => {
      this.timer = null;
      this.refresh();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) this.env.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
