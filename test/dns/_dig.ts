import { spawn } from "node:child_process";

/** Runs dig against a local DNS port without blocking this process (its servers live here); resolves with dig's output. */
export async function digAt(port: number, ...args: string[]): Promise<string> {
  const child = spawn("dig", ["@127.0.0.1", "-p", String(port), "+time=2", "+tries=1", ...args]);
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  await new Promise<void>((r) => child.once("close", () => r()));
  return out;
}
