import { expect, test } from "bun:test";
import { PeriodicCheck, type ProbeResult } from "../../../src/agent/checks/periodic.ts";
import { FakeClock, settle } from "../../_fake_clock.ts";
import { recorder } from "./_helpers.ts";

function periodic(results: ProbeResult[], opts: { random?: number; thresholds?: [number, number, number]; initial?: "passing" | "critical" } = {}) {
  const clock = new FakeClock();
  const rec = recorder({ random: () => opts.random ?? 0 }, clock);
  const probes: number[] = [];
  let pending: ((r: ProbeResult) => void) | null = null;
  let aborted = 0;
  const [s, w, c] = opts.thresholds ?? [0, 0, 0];
  const check = new PeriodicCheck(
    {
      kind: "tcp",
      intervalMs: 1000,
      initial: opts.initial ?? "critical",
      thresholds: { successBeforePassing: s, failuresBeforeWarning: w, failuresBeforeCritical: c },
      probe: (signal) => {
        probes.push(clock.now());
        signal.addEventListener("abort", () => aborted++);
        const next = results.shift();
        if (next) return Promise.resolve(next);
        return new Promise((r) => (pending = r));
      },
    },
    rec.env,
  );
  return { clock, rec, check, probes, finishPending: (r: ProbeResult) => pending?.(r), aborted: () => aborted };
}

const ok: ProbeResult = { status: "passing", output: "ok" };
const bad: ProbeResult = { status: "critical", output: "bad" };

test("the first probe comes after random × interval, the next ones an interval apart", async () => {
  const { clock, check, probes } = periodic([ok, ok, ok], { random: 0.25 });
  const t0 = clock.now();
  check.start();
  await clock.advance(249);
  expect(probes).toEqual([]);
  await clock.advance(1);
  expect(probes).toEqual([t0 + 250]);
  await clock.advance(2000);
  expect(probes).toEqual([t0 + 250, t0 + 1250, t0 + 2250]);
  check.stop();
});

test("the next interval starts when a slow probe finishes", async () => {
  const { clock, check, probes, finishPending } = periodic([]);
  const t0 = clock.now();
  check.start();
  await clock.advance(0);
  await clock.advance(5000);
  expect(probes).toEqual([t0]);
  finishPending(ok);
  await settle();
  await clock.advance(1000);
  expect(probes).toEqual([t0, t0 + 6000]);
  check.stop();
});

test("stop aborts an in-flight probe and drops its result", async () => {
  const { clock, check, rec, finishPending, aborted } = periodic([]);
  check.start();
  await clock.advance(0);
  check.stop();
  expect(aborted()).toBe(1);
  finishPending(ok);
  await settle();
  expect(rec.updates).toEqual([]);
  expect(clock.pendingTimers).toBe(0);
});

test("criticalSince follows the reported status on the clock", async () => {
  const { clock, check } = periodic([ok, bad, bad, ok], { initial: "critical" });
  const t0 = clock.now();
  expect(check.criticalSince).toBe(t0);
  check.start();
  await clock.advance(0);
  expect(check.status).toBe("passing");
  expect(check.criticalSince).toBeNull();
  await clock.advance(1000);
  expect(check.criticalSince).toBe(t0 + 1000);
  await clock.advance(1000);
  // Still critical: the time it became critical does not move.
  expect(check.criticalSince).toBe(t0 + 1000);
  await clock.advance(1000);
  expect(check.criticalSince).toBeNull();
  check.stop();
});

test("direct results skip the thresholds", async () => {
  const { clock, check, rec } = periodic([ok, { ...bad, direct: true }], { thresholds: [0, 0, 5], initial: "passing" });
  check.start();
  await clock.advance(1000);
  expect(rec.updates.map((u) => u.status)).toEqual(["passing", "critical"]);
  check.stop();
});
