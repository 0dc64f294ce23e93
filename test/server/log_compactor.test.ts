/**
 * A snapshot that fails to save is reported and tried again on a timer (no
 * further entry is needed), backing off while it keeps failing; a stopped
 * compactor tries no more.
 */
import { expect, test } from "bun:test";
import { MemoryLog } from "../../src/log/mod.ts";
import type { LogSnapshot } from "../../src/log/log.ts";
import { LogCompactor } from "../../src/server/log_compactor.ts";
import { MessageType } from "../../src/state/commands.ts";
import { StateStore } from "../../src/state/mod.ts";
import { FakeClock } from "../_fake_clock.ts";

/** A memory log that counts the entries since its last snapshot, and whose next `failures` snapshot saves fail. */
class FlakyLog extends MemoryLog {
  failures = 0;
  attempts = 0;
  #saved = 0;

  override entriesSinceSnapshot(): number {
    return this.lastIndex() - this.#saved;
  }

  override async saveSnapshot(snapshot: LogSnapshot): Promise<void> {
    this.attempts++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error("timed out storing the snapshot");
    }
    await super.saveSnapshot(snapshot);
    this.#saved = snapshot.index;
  }
}

async function setUp(failures: number) {
  const log = new FlakyLog();
  await log.open();
  const state = new StateStore();
  const clock = new FakeClock();
  const warnings: string[] = [];
  let stopped = false;
  const compactor = new LogCompactor({ log, state, threshold: 4, keepsSnapshot: () => true, stopped: () => stopped, warn: (m) => warnings.push(m), clock });
  log.onCommit((entry) => {
    state.apply(entry.index, { Type: MessageType.KVS, Now: 0, Op: "set", Entry: { Key: `k${entry.index}`, Value: null, Flags: "0", Session: "", ModifyIndex: 0 } }, false);
    compactor.maybe();
  });
  log.failures = failures;
  for (let i = 0; i < 5; i++) await log.append(new Uint8Array([i]));
  await compactor.settled();
  return { log, clock, warnings, compactor, stop: () => (stopped = true) };
}

test("a failed snapshot is logged and retried on a timer, with no new entry, backing off", async () => {
  const { log, clock, warnings } = await setUp(2);
  expect(log.attempts).toBe(1);
  expect(log.entriesSinceSnapshot()).toBe(5);
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain("saving the log snapshot at index 4 failed");
  expect(warnings[0]).toContain("trying again in 1 s");
  expect(warnings[0]).toContain("timed out storing the snapshot");
  await clock.advance(1000);
  expect(log.attempts).toBe(2);
  expect(warnings[1]).toContain("trying again in 2 s");
  await clock.advance(1999);
  expect(log.attempts).toBe(2);
  await clock.advance(1);
  expect(log.attempts).toBe(3);
  expect(log.entriesSinceSnapshot()).toBe(0);
  expect(warnings).toHaveLength(2);
  // Saved: no more retries.
  await clock.advance(60_000);
  expect(log.attempts).toBe(3);
});

test("a stopped compactor drops its retry", async () => {
  const { log, clock, compactor, stop } = await setUp(1);
  stop();
  compactor.stop();
  expect(clock.pendingTimers).toBe(0);
  await clock.advance(5000);
  expect(log.attempts).toBe(1);
});
