import { expect, test } from "bun:test";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import { LocalLog, LogCorruptionError } from "../../src/log/mod.ts";
import { RECORD_HEADER_BYTES } from "../../src/log/record.ts";
import { bytes, indexes, range, segmentFiles, texts, withDir } from "./helpers.ts";

const PAYLOAD = 24;

function payload(i: number): string {
  return `record-${String(i).padStart(PAYLOAD - 7, "0")}`;
}

/** Writes entries 1..n, one batch each, and returns the path of the single segment. */
async function writeLog(dir: string, n: number, segmentBytes?: number): Promise<string> {
  const log = new LocalLog({ dir, segmentBytes });
  await log.open();
  for (let i = 1; i <= n; i++) await log.append(bytes(payload(i)));
  await log.close();
  const segs = await segmentFiles(dir);
  return path.join(dir, segs[segs.length - 1] as string);
}

const RECORD = RECORD_HEADER_BYTES + PAYLOAD;

/** Reopens, expects entries 1..expected, appends one more, and checks a second reopen sees it. */
async function expectRecovered(dir: string, expected: number): Promise<void> {
  const log = new LocalLog({ dir });
  const rec = await log.open();
  expect(indexes(rec.entries)).toEqual(range(1, expected));
  expect(texts(rec.entries)).toEqual(range(1, expected).map(payload));
  expect(await log.append(bytes("after-repair"))).toBe(expected + 1);
  await log.close();
  const again = new LocalLog({ dir });
  const rec2 = await again.open();
  expect(indexes(rec2.entries)).toEqual(range(1, expected + 1));
  expect(texts(rec2.entries).at(-1)).toBe("after-repair");
  await again.close();
}

async function flipByte(file: string, offset: number): Promise<void> {
  const buf = await fs.readFile(file);
  buf[offset] = (buf[offset] as number) ^ 0xff;
  await fs.writeFile(file, buf);
}

test("a torn tail (bytes chopped off the last record) is truncated away", () =>
  withDir(async (dir) => {
    const seg = await writeLog(dir, 20);
    expect((await fs.stat(seg)).size).toBe(20 * RECORD);
    for (const cut of [1, 5, RECORD - RECORD_HEADER_BYTES, RECORD - 1]) {
      await fs.truncate(seg, (await fs.stat(seg)).size - cut);
      const expected = Math.floor((await fs.stat(seg)).size / RECORD);
      const log = new LocalLog({ dir });
      expect(indexes((await log.open()).entries)).toEqual(range(1, expected));
      await log.close();
      // open() cut the file back to a record boundary.
      expect((await fs.stat(seg)).size).toBe(expected * RECORD);
    }
    await expectRecovered(dir, 16);
  }));

test("garbage appended after the last record is truncated away", () =>
  withDir(async (dir) => {
    const seg = await writeLog(dir, 10);
    const garbage = new Uint8Array(3000);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    await fs.appendFile(seg, garbage);
    const said: string[] = [];
    const log = new LocalLog({ dir, onRepair: (m) => said.push(m) });
    await log.open();
    expect(log.stats().truncatedBytes).toBe(3000);
    // The repair is reported: how much was cut, from which file, where the log continues.
    expect(said).toEqual([expect.stringContaining(`cut a damaged tail of 3000 bytes off ${seg}`)]);
    expect(said[0]).toContain("continues at index 11");
    await log.close();
    await expectRecovered(dir, 10);
  }));

test("a zero-filled tail, as a filesystem may leave after a crash, is truncated away", () =>
  withDir(async (dir) => {
    const seg = await writeLog(dir, 10);
    await fs.appendFile(seg, new Uint8Array(100));
    await expectRecovered(dir, 10);
  }));

test("a bad checksum in the last record drops only that record", () =>
  withDir(async (dir) => {
    const seg = await writeLog(dir, 10);
    await flipByte(seg, 9 * RECORD + RECORD_HEADER_BYTES + 3);
    await expectRecovered(dir, 9);
  }));

test("corruption followed by valid records is a LogCorruptionError, not silent loss", () =>
  withDir(async (dir) => {
    const seg = await writeLog(dir, 10);
    const bad = 4 * RECORD + RECORD_HEADER_BYTES + 2; // payload of entry 5
    await flipByte(seg, bad);
    const log = new LocalLog({ dir });
    const err = await log.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogCorruptionError);
    expect((err as LogCorruptionError).name).toBe("LogCorruptionError");
    expect((err as LogCorruptionError).file).toBe(seg);
    expect((err as LogCorruptionError).offset).toBe(4 * RECORD);
    expect((err as Error).message).toContain("followed by a valid record");
    // Nothing was truncated: the data is left for an operator.
    expect((await fs.stat(seg)).size).toBe(10 * RECORD);
    await log.close();
  }));

test("a destroyed length field in the middle is still detected", () =>
  withDir(async (dir) => {
    const seg = await writeLog(dir, 10);
    const fd = await fs.open(seg, "r+");
    await fd.write(new Uint8Array([0xff, 0xff, 0xff, 0x7f]), 0, 4, 3 * RECORD);
    await fd.close();
    const log = new LocalLog({ dir });
    await expect(log.open()).rejects.toBeInstanceOf(LogCorruptionError);
    await log.close();
  }));

test("damage in an earlier segment is a LogCorruptionError even at its end", () =>
  withDir(async (dir) => {
    await writeLog(dir, 40, 200);
    const segs = await segmentFiles(dir);
    expect(segs.length).toBeGreaterThan(2);
    const firstSeg = path.join(dir, segs[0] as string);
    await fs.truncate(firstSeg, (await fs.stat(firstSeg)).size - 3);
    const log = new LocalLog({ dir });
    await expect(log.open()).rejects.toBeInstanceOf(LogCorruptionError);
    await log.close();
  }));

test("a missing segment is a LogCorruptionError", () =>
  withDir(async (dir) => {
    await writeLog(dir, 40, 200);
    const segs = await segmentFiles(dir);
    await fs.unlink(path.join(dir, segs[1] as string));
    const log = new LocalLog({ dir });
    const err = await log.open().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LogCorruptionError);
    await log.close();
    await fs.unlink(path.join(dir, segs[0] as string));
    const log2 = new LocalLog({ dir });
    const err2 = await log2.open().catch((e: unknown) => e);
    expect(err2).toBeInstanceOf(LogCorruptionError);
    expect((err2 as Error).message).toContain("are missing");
    await log2.close();
  }));
