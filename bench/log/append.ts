/**
 * Append throughput of LocalLog (group commit) against a baseline that issues
 * one write + fdatasync per append, at several concurrency levels, on the same
 * disk in the same run.
 *
 *     npx bun bench/log/append.ts [dir] [secondsPerCase]
 *
 * `dir` defaults to the OS temp dir; point it at the disk the data dir lives on.
 */
import * as fs from "node:fs/promises";
import * as os from "node:os";
import * as path from "node:path";
import { LocalLog } from "../../src/log/mod.ts";
import { encodeRecords } from "../../src/log/record.ts";
import { args } from "../../src/runtime/process.ts";

const [baseArg, secondsArg] = args();
const BASE = baseArg ?? os.tmpdir();
const SECONDS = Number(secondsArg ?? "2");
const PAYLOAD = new Uint8Array(128).fill(0x61);
const CONCURRENCY = [1, 32, 256] as const;

interface Result {
  readonly appends: number;
  readonly syncs: number;
  readonly seconds: number;
}

/** Runs `workers` loops of `appendOnce` until the deadline. */
async function drive(workers: number, appendOnce: () => Promise<unknown>): Promise<{ appends: number; seconds: number }> {
  const start = performance.now();
  const deadline = start + SECONDS * 1000;
  let appends = 0;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < deadline) {
        await appendOnce();
        appends++;
      }
    }),
  );
  return { appends, seconds: (performance.now() - start) / 1000 };
}

async function benchLocalLog(workers: number): Promise<Result> {
  const dir = await fs.mkdtemp(path.join(BASE, "consulate-bench-log-"));
  try {
    const log = new LocalLog({ dir });
    await log.open();
    const before = log.stats().syncs;
    const run = await drive(workers, () => log.append(PAYLOAD));
    const syncs = log.stats().syncs - before;
    await log.close();
    return { ...run, syncs };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** One write + fdatasync per append, same framing, same file API. */
async function benchBaseline(workers: number): Promise<Result> {
  const dir = await fs.mkdtemp(path.join(BASE, "consulate-bench-base-"));
  try {
    const handle = await fs.open(path.join(dir, "wal.log"), "w");
    let position = 0;
    let index = 0;
    let syncs = 0;
    const run = await drive(workers, async () => {
      const record = encodeRecords([{ index: ++index, data: PAYLOAD }]);
      const at = position;
      position += record.length;
      await handle.write(record, 0, record.length, at);
      await handle.datasync();
      syncs++;
    });
    await handle.close();
    return { ...run, syncs };
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function rate(n: number, seconds: number): string {
  return Math.round(n / seconds).toLocaleString("en-US").padStart(9);
}

console.log(`LocalLog append benchmark: ${PAYLOAD.length}-byte entries, ${SECONDS}s per case, dir ${BASE}`);
console.log("concurrency | baseline appends/s  fsyncs/s | LocalLog appends/s  fsyncs/s  appends/fsync | speedup");
for (const workers of CONCURRENCY) {
  const base = await benchBaseline(workers);
  const local = await benchLocalLog(workers);
  const speedup = local.appends / local.seconds / (base.appends / base.seconds);
  console.log(
    [
      String(workers).padStart(11),
      ` | ${rate(base.appends, base.seconds)}          ${rate(base.syncs, base.seconds)}`,
      ` | ${rate(local.appends, local.seconds)}          ${rate(local.syncs, local.seconds)}`,
      `  ${(local.appends / Math.max(1, local.syncs)).toFixed(1).padStart(13)}`,
      ` | ${speedup.toFixed(2)}x`,
    ].join(""),
  );
}
