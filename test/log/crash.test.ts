import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { LocalLog } from "../../src/log/mod.ts";
import { text, withDir } from "./helpers.ts";

const BUN = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
const CHILD = fileURLToPath(new URL("./crash_child.ts", import.meta.url));

interface Round {
  readonly acked: number[];
  readonly startedAt: number;
}

/** Runs the child until it has acknowledged `killAfter` appends, then SIGKILLs it. */
function runAndKill(dir: string, killAfter: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(BUN, ["run", CHILD, dir, "16"], { stdio: ["ignore", "pipe", "pipe"] });
    const acked: number[] = [];
    let startedAt = -1;
    let partial = "";
    let stderr = "";
    let killed = false;
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`child made no progress: ${acked.length} acks, stderr: ${stderr}`));
    }, 20_000);
    child.stderr?.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split("\n");
      partial = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith("ready ")) startedAt = Number(line.slice(6));
        else acked.push(Number(line));
      }
      if (!killed && acked.length >= killAfter) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      if (signal !== "SIGKILL") reject(new Error(`child exited on its own (code ${code}): ${stderr}`));
      else resolve({ acked, startedAt });
    });
  });
}

test(
  "no acknowledged append is lost when the writer is SIGKILLed mid-flight",
  () =>
    withDir(async (dir) => {
      let previousLast = 0;
      for (const killAfter of [700, 1300, 450, 2100]) {
        const { acked, startedAt } = await runAndKill(dir, killAfter);
        expect(startedAt).toBe(previousLast);
        expect(acked.length).toBeGreaterThanOrEqual(killAfter);

        const log = new LocalLog({ dir, segmentBytes: 16 * 1024 });
        const rec = await log.open();
        const snapIndex = rec.snapshot?.index ?? 0;
        if (rec.snapshot !== null) expect(text(rec.snapshot.data)).toBe(`snap${snapIndex}`);
        // Contiguous from the snapshot on, each entry carrying its own index.
        let expected = snapIndex + 1;
        for (const e of rec.entries) {
          expect(e.index).toBe(expected);
          expect(text(e.data)).toBe(`v${e.index}`);
          expected++;
        }
        const last = log.lastIndex();
        expect(last).toBe(expected - 1);
        // Every acknowledged index is in the snapshot or among the entries.
        const maxAcked = Math.max(...acked);
        expect(last).toBeGreaterThanOrEqual(maxAcked);
        expect(acked.every((i) => i > previousLast && i <= last)).toBe(true);
        expect(new Set(acked).size).toBe(acked.length);
        await log.close();
        previousLast = last;
      }
    }),
  60_000,
);
