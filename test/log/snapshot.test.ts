import { expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LocalLog, LogCorruptionError } from "../../src/log/mod.ts";
import { bytes, dirBytes, indexes, listDir, range, segmentFiles, text, texts, withDir } from "./helpers.ts";

test("reopen yields the snapshot plus the entries after it", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    for (let i = 1; i <= 10; i++) await log.append(bytes(`e${i}`));
    await log.saveSnapshot({ index: 6, data: bytes("state@6") });
    expect(log.entriesSinceSnapshot()).toBe(4);
    for (let i = 11; i <= 12; i++) await log.append(bytes(`e${i}`));
    expect(log.entriesSinceSnapshot()).toBe(6);
    await log.close();

    const again = new LocalLog({ dir });
    const rec = await again.open();
    expect(rec.snapshot?.index).toBe(6);
    expect(text(rec.snapshot?.data ?? new Uint8Array())).toBe("state@6");
    expect(indexes(rec.entries)).toEqual(range(7, 12));
    expect(texts(rec.entries)).toEqual(["e7", "e8", "e9", "e10", "e11", "e12"]);
    expect(again.lastIndex()).toBe(12);
    expect(again.entriesSinceSnapshot()).toBe(6);
    expect(await again.append(bytes("e13"))).toBe(13);
    await again.close();
  }));

test("a snapshot at the last index removes every segment and older snapshot", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    for (let i = 1; i <= 5; i++) await log.append(bytes(`e${i}`));
    await log.saveSnapshot({ index: 3, data: bytes("s3") });
    await log.saveSnapshot({ index: 5, data: bytes("s5") });
    expect(await listDir(dir)).toEqual(["snapshot-00000000000000000005.bin"]);
    expect(log.entriesSinceSnapshot()).toBe(0);
    expect(await log.append(bytes("e6"))).toBe(6);
    expect(await segmentFiles(dir)).toEqual(["wal-00000000000000000006.log"]);
    await log.close();

    const again = new LocalLog({ dir });
    const rec = await again.open();
    expect(text(rec.snapshot?.data ?? new Uint8Array())).toBe("s5");
    expect(indexes(rec.entries)).toEqual([6]);
    await again.close();
  }));

test("a snapshot with no entries after it reopens with no segments", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    for (let i = 1; i <= 3; i++) await log.append(bytes(`e${i}`));
    await log.saveSnapshot({ index: 3, data: bytes("s3") });
    await log.close();
    const again = new LocalLog({ dir });
    const rec = await again.open();
    expect(rec.snapshot?.index).toBe(3);
    expect([...rec.entries]).toEqual([]);
    expect(again.lastIndex()).toBe(3);
    expect(await again.append(bytes("e4"))).toBe(4);
    await again.close();
  }));

test("old segments are deleted and the directory stays bounded over many cycles", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir, segmentBytes: 4096 });
    await log.open();
    let applied = 0;
    log.onCommit((e) => {
      applied = e.index;
    });
    const sizes: number[] = [];
    for (let cycle = 0; cycle < 40; cycle++) {
      await Promise.all(range(1, 200).map((n) => log.append(bytes(`cycle-${cycle}-entry-${n}-${"x".repeat(40)}`))));
      if (log.entriesSinceSnapshot() >= 150) {
        // Snapshot a little behind the head, as a server would while appends continue.
        const index = applied - 10;
        await log.saveSnapshot({ index, data: bytes(`state@${index}`.padEnd(2000, ".")) });
      }
      sizes.push(await dirBytes(dir));
      expect((await listDir(dir)).filter((n) => n.startsWith("snapshot-")).length).toBe(1);
    }
    expect(log.lastIndex()).toBe(8000);
    // About one cycle of entries plus one snapshot, whatever the history.
    expect(Math.max(...sizes)).toBeLessThan(40_000);
    expect(log.stats().segments).toBeLessThanOrEqual(5);
    await log.close();

    const again = new LocalLog({ dir });
    const rec = await again.open();
    expect(rec.snapshot?.index).toBe(7990);
    expect(indexes(rec.entries)).toEqual(range(7991, 8000));
    await again.close();
  }));

test("snapshots are refused outside [previous snapshot, last index]", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    for (let i = 1; i <= 4; i++) await log.append(bytes(`e${i}`));
    await log.saveSnapshot({ index: 3, data: bytes("s3") });
    await expect(log.saveSnapshot({ index: 2, data: bytes("s2") })).rejects.toBeInstanceOf(RangeError);
    await expect(log.saveSnapshot({ index: 5, data: bytes("s5") })).rejects.toBeInstanceOf(RangeError);
    await log.close();
  }));

test("an unreadable newest snapshot falls back to the older one while its segments remain", () =>
  withDir(async (dir) => {
    // Write snapshot 3 and keep the segment holding 4..8; then forge a bad snapshot 8.
    const log = new LocalLog({ dir });
    await log.open();
    for (let i = 1; i <= 8; i++) await log.append(bytes(`e${i}`));
    await log.saveSnapshot({ index: 3, data: bytes("s3") });
    await log.close();
    await fs.writeFile(path.join(dir, "snapshot-00000000000000000008.bin"), bytes("CSNP-truncated"));
    await fs.writeFile(path.join(dir, "snapshot-00000000000000000009.bin.tmp"), bytes("left by a crash"));

    const said: string[] = [];
    const again = new LocalLog({ dir, onRepair: (m) => said.push(m) });
    const rec = await again.open();
    expect(said).toEqual([expect.stringContaining(`snapshot ${path.join(dir, "snapshot-00000000000000000008.bin")} is damaged`)]);
    expect(text(rec.snapshot?.data ?? new Uint8Array())).toBe("s3");
    expect(indexes(rec.entries)).toEqual(range(4, 8));
    expect((await listDir(dir)).some((n) => n.endsWith(".tmp"))).toBe(false);
    await again.close();
  }));

test("a bad snapshot whose entries were compacted away is a LogCorruptionError", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir });
    await log.open();
    for (let i = 1; i <= 8; i++) await log.append(bytes(`e${i}`));
    await log.saveSnapshot({ index: 8, data: bytes("s8") });
    await log.append(bytes("e9"));
    await log.close();
    const snap = path.join(dir, "snapshot-00000000000000000008.bin");
    const buf = await fs.readFile(snap);
    buf[buf.length - 1] = (buf[buf.length - 1] as number) ^ 0x01;
    await fs.writeFile(snap, buf);
    const again = new LocalLog({ dir });
    const err = await again.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogCorruptionError);
    // The message names the damaged snapshot, not only the entries it held.
    expect((err as Error).message).toContain(`snapshot ${snap} is damaged (checksum mismatch)`);
    await again.close();
  }));

test("snapshots taken while appends are in flight lose nothing", () =>
  withDir(async (dir) => {
    const log = new LocalLog({ dir, segmentBytes: 2048 });
    await log.open();
    const snapshots: Promise<void>[] = [];
    log.onCommit((e) => {
      // As a server would: snapshot from inside apply, without waiting.
      if (e.index % 97 === 0) snapshots.push(log.saveSnapshot({ index: e.index, data: bytes(`state@${e.index}`) }));
    });
    for (let wave = 0; wave < 10; wave++) {
      await Promise.all(range(1, 100).map((n) => log.append(bytes(`w${wave}-${n}`))));
    }
    await Promise.all(snapshots);
    expect(snapshots.length).toBe(10);
    await log.close();
    const again = new LocalLog({ dir, segmentBytes: 2048 });
    const rec = await again.open();
    expect(rec.snapshot?.index).toBe(970);
    expect(indexes(rec.entries)).toEqual(range(971, 1000));
    expect(texts(rec.entries)[29]).toBe("w9-100");
    await again.close();
  }));
