/**
 * The agent's checks and the runners that probe them: each definition's
 * runner feeds its results into local state (from where anti-entropy takes
 * them to the catalog); alias checks watch this agent's own local state, or
 * ask the servers about another node.
 */
import type { CatalogRpc } from "./catalog_rpc.ts";
import { type AliasSource, type CheckDefinition, type CheckRunner, checkType, createRunner, healthCheckDefinition, TtlCheck } from "./checks/mod.ts";
import { InvalidAgentRequestError, UnknownCheckError } from "./errors.ts";
import type { CheckDef, LocalState } from "./local_state.ts";
import type { Logger } from "./logger.ts";
import type { Clock } from "../server/clock.ts";
import { formatGoDuration } from "../structs/duration.ts";

/** A check of this agent: its definition, runner, and where it came from. */
export interface CheckEntry {
  readonly def: CheckDefinition;
  readonly runner: CheckRunner | null;
  readonly fromConfig: boolean;
  readonly token: string;
}

export interface AgentChecksOptions {
  readonly local: LocalState;
  readonly node: string;
  readonly rpc: CatalogRpc;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Smallest probe interval honoured (Consul: 1s); tests lower it. */
  readonly minCheckIntervalMs?: number;
  /** Consul's check_update_interval: output-only changes wait this long before a sync. */
  readonly checkUpdateIntervalMs?: number;
  /** Whether the agent stopped (results that come after are dropped). */
  readonly stopped: () => boolean;
}

/** The local-state row of a check definition. */
export function checkRow(def: CheckDefinition, status: string, output: string): CheckDef {
  return {
    CheckID: def.ID,
    Name: def.Name,
    Status: status,
    Notes: def.Notes,
    Output: output,
    ServiceID: def.ServiceID,
    ServiceName: "",
    ServiceTags: [],
    Type: checkType(def),
    Interval: def.Interval > 0 ? formatGoDuration(def.Interval) : "",
    Timeout: def.Timeout > 0 ? formatGoDuration(def.Timeout) : "",
    ExposedPort: 0,
    Definition: healthCheckDefinition(def),
  };
}

export class AgentChecks {
  readonly #o: AgentChecksOptions;
  readonly #entries = new Map<string, CheckEntry>();

  constructor(options: AgentChecksOptions) {
    this.#o = options;
  }

  get(id: string): CheckEntry | undefined {
    return this.#entries.get(id);
  }

  values(): IterableIterator<CheckEntry> {
    return this.#entries.values();
  }

  /** Adds or replaces a check and starts its runner; `restored` carries the status and output a restart kept. */
  add(def: CheckDefinition, token: string, fromConfig: boolean, restored?: { Status: string; Output: string }): void {
    const { local, clock, random, minCheckIntervalMs, logger, checkUpdateIntervalMs, stopped } = this.#o;
    this.#entries.get(def.ID)?.runner?.stop();
    const id = def.ID;
    const runner = createRunner(restored ? { ...def, Status: restored.Status } : def, {
      clock,
      random,
      minIntervalMs: minCheckIntervalMs,
      logger: logger.named("checks"),
      onUpdate: (u) => {
        if (!stopped()) local.updateCheck(id, u.status, u.output, checkUpdateIntervalMs ?? 0);
      },
    }, { alias: this.#aliasSource() });
    this.#entries.set(id, { def, runner, fromConfig, token });
    local.addCheck(checkRow(def, runner.status, restored?.Output ?? runner.output), token);
    runner.start();
  }

  /** Stops a check's runner and removes it from local state. */
  remove(id: string): void {
    this.#entries.get(id)?.runner?.stop();
    this.#entries.delete(id);
    this.#o.local.removeCheck(id);
  }

  /** `/v1/agent/check/pass|warn|fail|update`: only TTL checks take outside results. */
  updateTtl(id: string, status: "passing" | "warning" | "critical", output: string): void {
    const e = this.#entries.get(id);
    if (!e || !this.#o.local.check(id)) throw new UnknownCheckError(`Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`);
    if (!(e.runner instanceof TtlCheck)) throw new InvalidAgentRequestError(`CheckID "${id}" does not have associated TTL`);
    e.runner.update(status, output);
  }

  stopAll(): void {
    for (const e of this.#entries.values()) e.runner?.stop();
  }

  #aliasSource(): AliasSource {
    const { local, node, rpc } = this.#o;
    const view = (c: CheckDef, n: string) => ({ Node: n, CheckID: c.CheckID, Name: c.Name, Status: c.Status, Output: c.Output, ServiceID: c.ServiceID });
    const isLocal = (target: { node: string }) => target.node === "" || target.node === node;
    return {
      checks: async (target) => {
        if (isLocal(target)) return local.liveChecks().map((c) => view(c, node));
        return (await rpc.nodeState(target.node)).checks;
      },
      serviceExists: async (target) => {
        if (isLocal(target)) return local.service(target.serviceId) !== null;
        return (await rpc.nodeState(target.node)).services.some((s) => s.ID === target.serviceId);
      },
      subscribe: (target, onChange) => (isLocal(target) ? local.onChange(onChange) : () => {}),
    };
  }
}
