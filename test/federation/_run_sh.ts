/**
 * Driving examples/federation/run.sh from tests: a command runner, and a
 * PORT_BASE whose ports look free for the datacenters a test starts.
 */
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";

export const RUN_SH = join(resolve(import.meta.dir, "../.."), "examples/federation/run.sh");

/** Runs a command; resolves with its exit code and stdout+stderr (never rejects). */
export function sh(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 240_000): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { env: { ...process.env, ...env }, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` });
    });
  });
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen(port, "127.0.0.1", () => s.close(() => res(true)));
  });
}

/** A PORT_BASE whose ports run.sh binds for `dcs` datacenters look free. */
export async function freeBase(dcs = 3): Promise<number> {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 120) * 100; // below the ephemeral range (32768+)
    let ok = true;
    for (let dc = 0; dc < dcs && ok; dc++) for (const off of [0, 10, 11, 12, 13, 14]) if (!(await portFree(base + dc * 100 + off))) ok = false;
    if (ok) return base;
  }
}
