import { expect, test } from "bun:test";
import { createRunner, decodeCheckDefinition, TtlCheck } from "../../../src/agent/checks/mod.ts";
import { FakeClock } from "../../_fake_clock.ts";
import { recorder } from "./_helpers.ts";

function ttl(raw: Record<string, unknown>, outputMaxSize?: number) {
  const clock = new FakeClock();
  const rec = recorder(outputMaxSize ? { outputMaxSize } : {}, clock);
  const runner = createRunner(decodeCheckDefinition(raw), rec.env);
  expect(runner).toBeInstanceOf(TtlCheck);
  return { clock, rec, check: runner as TtlCheck };
}

test("a TTL check expires to critical with Consul's output unless updated within the TTL", async () => {
  const { clock, rec, check } = ttl({ Name: "app", TTL: "10s" });
  check.start();
  expect(check.status).toBe("critical");
  check.pass("all good");
  expect(rec.last()).toEqual({ status: "passing", output: "all good" });
  await clock.advance(9_000);
  check.warn("slow");
  await clock.advance(9_000);
  expect(rec.last()).toEqual({ status: "warning", output: "slow" });
  await clock.advance(1_000);
  expect(rec.last()).toEqual({ status: "critical", output: "TTL expired (last output before timeout follows): slow" });
  expect(check.criticalSince).toBe(clock.now());
  check.stop();
  expect(clock.pendingTimers).toBe(0);
});

test("with no output ever set, expiry says just \"TTL expired\"", async () => {
  const { clock, rec, check } = ttl({ TTL: "1s", Status: "passing" });
  expect(check.status).toBe("passing");
  expect(check.criticalSince).toBeNull();
  check.start();
  await clock.advance(1_000);
  expect(rec.updates).toEqual([{ status: "critical", output: "TTL expired" }]);
  // It fires once; another TTL passing without an update reports nothing new.
  await clock.advance(5_000);
  expect(rec.updates.length).toBe(1);
  check.update("passing", "back");
  await clock.advance(999);
  expect(rec.last()?.status).toBe("passing");
  await clock.advance(1);
  expect(rec.last()?.status).toBe("critical");
  check.stop();
});

test("fail and update set any status; a stopped TTL never expires", async () => {
  const { clock, rec, check } = ttl({ TTL: "2s" });
  check.start();
  check.fail("down");
  expect(rec.last()).toEqual({ status: "critical", output: "down" });
  check.update("warning", "meh");
  expect(check.status).toBe("warning");
  check.stop();
  await clock.advance(10_000);
  expect(rec.last()).toEqual({ status: "warning", output: "meh" });
});

test("output beyond the limit keeps its head and says how much was captured", () => {
  const { check, rec } = ttl({ TTL: "5s", OutputMaxSize: 10 });
  const stored = check.pass("abcdefghijKLMNOP");
  expect(stored).toBe("abcdefghij ... (captured 10 of 16 bytes)");
  expect(rec.last()?.output).toBe(stored);
});

test("the agent-wide limit applies unless the check's own is smaller", () => {
  const { check } = ttl({ TTL: "5s" }, 4);
  expect(check.pass("123456")).toBe("1234 ... (captured 4 of 6 bytes)");
  const { check: own } = ttl({ TTL: "5s", OutputMaxSize: 2 }, 4);
  expect(own.pass("123456")).toBe("12 ... (captured 2 of 6 bytes)");
  const { check: big } = ttl({ TTL: "5s", OutputMaxSize: 100 }, 4);
  expect(big.pass("123456")).toBe("1234 ... (captured 4 of 6 bytes)");
});
