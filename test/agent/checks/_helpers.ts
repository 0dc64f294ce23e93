/** Shared pieces for the check runner tests: a recording env and polling. */
import { systemClock, type Clock } from "../../../src/server/clock.ts";
import type { CheckUpdate, RunnerEnv } from "../../../src/agent/checks/mod.ts";

export interface Recorder {
  env: RunnerEnv;
  updates: CheckUpdate[];
  last(): CheckUpdate | undefined;
}

/** An env on the real clock with no stagger and a 10 ms minimum interval, recording every update. */
export function recorder(overrides: Partial<RunnerEnv> = {}, clock: Clock = systemClock): Recorder {
  const updates: CheckUpdate[] = [];
  return {
    updates,
    last: () => updates.at(-1),
    env: { clock, random: () => 0, minIntervalMs: 10, onUpdate: (u) => updates.push(u), ...overrides },
  };
}

/** Polls until `cond` holds, failing with `what` after `ms`. */
export async function waitFor(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Waits until the recorder's last update has `status`, returning it. */
export async function waitStatus(rec: Recorder, status: string, ms = 5000): Promise<CheckUpdate> {
  await waitFor(() => rec.last()?.status === status, `status ${status} (last: ${JSON.stringify(rec.last())})`, ms);
  return rec.last()!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
