/**
 * One linearizability run: start the workload, run the fault schedule, heal,
 * read every key once more, and check the history. Shared by the CI tests
 * and the longer env-gated runs.
 */
import { checkLinearizable, kvRegisterModel, type CheckResult, type KvInput, type KvOutput } from "./checker.ts";
import { History } from "./history.ts";
import { type FaultEvent, type FaultTarget, runFaultSchedule, seededRandom } from "./nemesis.ts";
import { finalReads, startWorkload } from "./workload.ts";

export interface RunOptions {
  readonly servers: readonly (() => string)[];
  readonly targets: readonly FaultTarget[];
  readonly durationMs: number;
  readonly seed: number;
  readonly clients: number;
  readonly holdMs?: readonly [number, number];
  readonly gapMs?: readonly [number, number];
  readonly timeoutMs?: number;
  readonly thinkMs?: number;
  readonly consistency?: "" | "consistent";
  readonly faults?: readonly ("kill" | "pause")[];
  /** Waits until the system serves again after the last fault. */
  readonly settle?: () => Promise<void>;
  readonly log?: (line: string) => void;
}

export interface RunReport {
  readonly history: History;
  readonly events: FaultEvent[];
  readonly check: CheckResult<KvInput, KvOutput>;
  readonly checkMs: number;
  readonly keys: number;
}

export async function linearizabilityRun(o: RunOptions): Promise<RunReport> {
  const rand = seededRandom(o.seed);
  const history = new History();
  const workload = startWorkload({
    history,
    servers: o.servers,
    clients: o.clients,
    keys: 3,
    keyEpochMs: 2_000,
    timeoutMs: o.timeoutMs ?? 1_000,
    thinkMs: o.thinkMs ?? 2,
    rand,
    prefix: `lin/${o.seed}`,
    ...(o.consistency !== undefined ? { consistency: o.consistency } : {}),
  });
  let events: FaultEvent[];
  try {
    events = await runFaultSchedule(o.targets, {
      durationMs: o.durationMs,
      rand,
      holdMs: o.holdMs ?? [500, 2_500],
      gapMs: o.gapMs ?? [500, 1_500],
      ...(o.log ? { log: o.log } : {}),
      ...(o.faults ? { faults: o.faults } : {}),
    });
  } finally {
    await workload.stop();
  }
  await o.settle?.();
  await finalReads(history, workload.keys, o.servers[0]!, o.consistency ?? "");
  const t = performance.now();
  const check = checkLinearizable(kvRegisterModel, history.ops, 60_000);
  return { history, events, check, checkMs: Math.round(performance.now() - t), keys: workload.keys.size };
}

/** One line for the test log. */
export function describeRun(r: RunReport): string {
  const s = r.history.stats;
  const verdict = r.check.result === "ok" ? `linearizable (${r.check.partitions} registers)` : r.check.result;
  return `${r.history.ops.length} ops recorded (${s.ok} ok, ${s.ambiguous} ambiguous, ${s.failed} failed, ${s.ackedWrites} acknowledged writes), ${r.events.length} faults, ${r.keys} keys: ${verdict}, checked in ${r.checkMs} ms`;
}
