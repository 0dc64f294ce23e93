import { expect, test } from "bun:test";
import { StatusHandler, type CheckStatus } from "../../../src/agent/checks/mod.ts";

function handler(successBeforePassing: number, failuresBeforeWarning: number, failuresBeforeCritical: number) {
  const seen: CheckStatus[] = [];
  const h = new StatusHandler({ successBeforePassing, failuresBeforeWarning, failuresBeforeCritical }, (s) => seen.push(s));
  const run = (...results: ("P" | "C")[]) => {
    for (const r of results) h.update(r === "P" ? "passing" : "critical", "out");
  };
  return { seen, run };
}

test("first result is reported at once; then thresholds count consecutive results (Consul's sequence)", () => {
  const { seen, run } = handler(2, 2, 3);
  run("P");
  expect(seen).toEqual(["passing"]);
  run("C");
  expect(seen).toEqual(["passing"]);
  run("C");
  expect(seen).toEqual(["passing", "warning"]);
  run("C");
  expect(seen).toEqual(["passing", "warning", "critical"]);
  run("P");
  expect(seen.length).toBe(3);
  run("P");
  expect(seen).toEqual(["passing", "warning", "critical", "passing"]);
});

test("non-consecutive failures do not add up", () => {
  const { seen, run } = handler(2, 2, 3);
  run("P", "C", "P", "C", "P", "C");
  expect(seen).toEqual(["passing"]);
  run("C");
  expect(seen.at(-1)).toBe("warning");
  run("C");
  expect(seen.at(-1)).toBe("critical");
  run("P", "C", "P");
  expect(seen.at(-1)).toBe("critical");
  run("P");
  expect(seen.at(-1)).toBe("passing");
});

test("equal warning and critical thresholds go straight to critical", () => {
  const { seen, run } = handler(2, 3, 3);
  run("P", "C", "C");
  expect(seen).toEqual(["passing"]);
  run("C");
  expect(seen).toEqual(["passing", "critical"]);
});

test("FailuresBeforeWarning defaults to FailuresBeforeCritical", () => {
  const { seen, run } = handler(0, 0, 3);
  run("P", "C", "C");
  expect(seen).toEqual(["passing"]);
  run("C");
  expect(seen).toEqual(["passing", "critical"]);
});

test("with no thresholds every result is reported", () => {
  const { seen, run } = handler(0, 0, 0);
  run("C", "P", "C");
  expect(seen).toEqual(["critical", "passing", "critical"]);
});
