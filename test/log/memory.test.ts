import { expect, test } from "bun:test";
import { LogClosedError, LogStateError, MemoryLog } from "../../src/log/mod.ts";
import { bytes, text } from "./helpers.ts";

test("MemoryLog commits in order before append resolves", async () => {
  const log = new MemoryLog();
  expect(await log.open()).toEqual({ snapshot: null, entries: [] });
  const seen: number[] = [];
  log.onCommit((e) => seen.push(e.index));
  const results = await Promise.all([1, 2, 3].map(async (n) => {
    const index = await log.append(bytes(`e${n}`));
    expect(seen).toContain(index);
    return index;
  }));
  expect(results).toEqual([1, 2, 3]);
  expect(seen).toEqual([1, 2, 3]);
  expect(log.lastIndex()).toBe(3);
  await log.close();
});

test("MemoryLog keeps no entries, so the compactor never snapshots it; a snapshot saved anyway is kept", async () => {
  const log = new MemoryLog();
  await log.open();
  const seen: string[] = [];
  log.onCommit((e) => seen.push(text(e.data)));
  for (let i = 1; i <= 10; i++) await log.append(bytes(`e${i}`));
  expect(seen).toHaveLength(10);
  expect(log.lastIndex()).toBe(10);
  expect(log.entriesSinceSnapshot()).toBe(0);
  await log.saveSnapshot({ index: 7, data: bytes("state@7") });
  expect(text(log.snapshot()?.data ?? new Uint8Array())).toBe("state@7");
  await log.append(bytes("e11"));
  expect(log.entriesSinceSnapshot()).toBe(0);
  await expect(log.saveSnapshot({ index: 5, data: bytes("old") })).rejects.toBeInstanceOf(RangeError);
  await expect(log.saveSnapshot({ index: 12, data: bytes("future") })).rejects.toBeInstanceOf(RangeError);
  await log.close();
});

test("MemoryLog refuses use before open and after close", async () => {
  const log = new MemoryLog();
  await expect(log.append(bytes("x"))).rejects.toBeInstanceOf(LogStateError);
  await log.open();
  await log.close();
  const err = await log.append(bytes("x")).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(LogClosedError);
  expect((err as Error).name).toBe("LogClosedError");
});
