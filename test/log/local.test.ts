import { expect, test } from "bun:test";
import { LocalLog, LogClosedError, LogStateError } from "../../src/log/mod.ts";
import type { LogEntry } from "../../src/log/mod.ts";
import { bytes, indexes, range, segmentFiles, text, texts, withDir } from "./helpers.ts";

test("entries survive close and reopen; indexes continue after them", () =>
  withDir(async (dir) => {
    const first = new LocalLog({ dir });
    expect(await first.open()).toEqual({ snapshot: null, entries: [] });
    expect(first.lastIndex()).toBe(0);
    for (let i = 1; i <= 5; i++) expect(await first.append(bytes(`cmd-${i}`))).toBe(i);
    await first.append(new Uint8Array(0));
    await first.close();

    const second = new LocalLog({ dir });
    const rec = await second.open();
    expect(rec.snapshot).toBeNull();
    expect(indexes(rec.entries)).toEqual(range(1, 6));
    expect(texts(rec.entries)).toEqual(["cmd-1", "cmd-2", "cmd-3", "cmd-4", "cmd-5", ""]);
    expect(second.lastIndex()).toBe(6);
    expect(second.entriesSinceSnapshot()).toBe(6);
    expect(second.stats().truncatedBytes).toBe(0);
    expect(await second.append(bytes("cmd-7"))).toBe(7);
    await second.close();

    const third = new LocalLog({ dir });
    expect(indexes((await third.open()).entries)).toEqual(range(1, 7));
    await third.close();
  }));

test("onCommit sees every entry in index order before its append resolves", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    const seen: LogEntry[] = [];
    log.onCommit((e) => {
      expect(log.lastIndex()).toBe(e.index);
      seen.push(e);
    });
    const all = await Promise.all(
      range(1, 300).map(async (n) => {
        const index = await log.append(bytes(`v${n}`));
        // Resolution implies the consumer already ran for this index.
        expect(seen.some((e) => e.index === index)).toBe(true);
        return index;
      }),
    );
    expect(all).toEqual(range(1, 300));
    expect(indexes(seen)).toEqual(range(1, 300));
    expect(text((seen[41] as LogEntry).data)).toBe("v42");
    await log.close();
  }));

test("group commit: 2,000 concurrent appends share far fewer fsyncs", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    const before = log.stats().syncs;
    const results = await Promise.all(range(1, 2000).map((n) => log.append(bytes(`concurrent-${n}`))));
    expect(results).toEqual(range(1, 2000));
    const { syncs, batches, appends } = log.stats();
    expect(appends).toBe(2000);
    expect(batches).toBeLessThan(50);
    expect(syncs - before).toBeLessThan(50);
    await log.close();
    const again = new LocalLog({ dir });
    expect(indexes((await again.open()).entries)).toEqual(range(1, 2000));
    await again.close();
  }));

test("appends arriving while a batch is in flight join the next batch", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    // 32 appenders each waiting for their previous append: after the first
    // round, each batch should carry many appenders' entries.
    const perWorker = 40;
    await Promise.all(
      range(1, 32).map(async (w) => {
        for (let i = 0; i < perWorker; i++) await log.append(bytes(`w${w}-${i}`));
      }),
    );
    const { appends, batches } = log.stats();
    expect(appends).toBe(32 * perWorker);
    expect(batches).toBeLessThan(appends / 8);
    await log.close();
  }));

test("segments roll over at segmentBytes and reopen reads across them", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir, segmentBytes: 1024 });
    await log.open();
    for (let i = 1; i <= 100; i++) await log.append(bytes(`entry-${String(i).padStart(40, "0")}`));
    await log.close();
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(3);
    expect(segs[0]).toBe("wal-00000000000000000001.log");
    const again = new LocalLog({ dir, segmentBytes: 1024 });
    const rec = await again.open();
    expect(indexes(rec.entries)).toEqual(range(1, 100));
    expect(await again.append(bytes("next"))).toBe(101);
    await again.close();
  }));

test("close waits for the batch in flight and later appends reject with LogClosedError", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    const inFlight = log.append(bytes("a"));
    await Promise.resolve(); // let the batch start
    await log.close();
    expect(await inFlight).toBe(1);
    const err = await log.append(bytes("b")).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogClosedError);
    expect((err as Error).name).toBe("LogClosedError");
    await expect(log.saveSnapshot({ index: 1, data: bytes("s") })).rejects.toBeInstanceOf(LogClosedError);
    await log.close(); // idempotent

    const again = new LocalLog({ dir });
    expect(indexes((await again.open()).entries)).toEqual([1]);
    await again.close();
  }));

test("appends queued behind the in-flight batch reject when the log closes", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    const first = log.append(bytes("first"));
    await Promise.resolve();
    await Promise.resolve();
    const queued = log.append(bytes("queued"));
    const closing = log.close();
    await expect(queued).rejects.toBeInstanceOf(LogClosedError);
    expect(await first).toBe(1);
    await closing;
  }));

test("the log refuses use before open and a second open", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await expect(log.append(bytes("early"))).rejects.toBeInstanceOf(LogStateError);
    await log.open();
    await expect(log.open()).rejects.toBeInstanceOf(LogStateError);
    await log.close();
  }));

test("a throwing consumer fails only its own append; the entry stays committed", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    log.onCommit((e) => {
      if (e.index === 2) throw new TypeError("apply failed");
    });
    const [a, b, c] = await Promise.allSettled([log.append(bytes("1")), log.append(bytes("2")), log.append(bytes("3"))]);
    expect(a).toEqual({ status: "fulfilled", value: 1 });
    expect(b?.status).toBe("rejected");
    expect(c).toEqual({ status: "fulfilled", value: 3 });
    await log.close();
    const again = new LocalLog({ dir });
    expect(indexes((await again.open()).entries)).toEqual([1, 2, 3]);
    await again.close();
  }));
