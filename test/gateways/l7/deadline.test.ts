import { expect, test } from "bun:test";
import { Deadline } from "../../../gateways/l7/deadline.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test("deadlines of one duration share a timer yet each passes at its own time; cleared ones never fire, whatever their place in the list", async () => {
  const t0 = Date.now();
  const fired: [string, number][] = [];
  const make = (name: string, ms = 60) => {
    const d = new Deadline(ms);
    d.addEventListener("abort", () => fired.push([name, Date.now() - t0]));
    return d;
  };
  const a = make("a");
  const b = make("b");
  await sleep(30);
  const c = make("c");
  const d = make("d");
  // Cleared at the head, in the middle and at the tail of the list.
  b.clear();
  const e = make("e");
  e.clear();
  a.clear();
  // Another duration has a list of its own.
  make("short", 10);
  await sleep(200);
  expect(fired.map(([n]) => n)).toEqual(["short", "c", "d"]);
  const at = Object.fromEntries(fired);
  // c and d were made 30 ms after a: they pass no sooner than 90 ms after the start.
  expect(at.c!).toBeGreaterThanOrEqual(85);
  expect([a.aborted, b.aborted, c.aborted, d.aborted, e.aborted]).toEqual([false, false, true, true, false]);
});

test("a deadline made by an abort listener waits its full time, and one still live when the first timer fires keeps its own time", async () => {
  const t0 = Date.now();
  const seen: [string, number][] = [];
  const first = new Deadline(40);
  first.addEventListener("abort", () => {
    seen.push(["first", Date.now() - t0]);
    const again = new Deadline(40);
    again.addEventListener("abort", () => seen.push(["again", Date.now() - t0]));
  });
  await sleep(20);
  const later = new Deadline(40);
  later.addEventListener("abort", () => seen.push(["later", Date.now() - t0]));
  await sleep(150);
  expect(seen.map(([n]) => n)).toEqual(["first", "later", "again"]);
  const at = Object.fromEntries(seen);
  expect(at.later!).toBeGreaterThanOrEqual(55);
  expect(at.later!).toBeLessThan(at.again!);
  expect(at.again!).toBeGreaterThanOrEqual(75);
});
