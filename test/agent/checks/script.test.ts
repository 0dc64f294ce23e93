import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type CheckRunner, createRunner, decodeCheckDefinition } from "../../../src/agent/checks/mod.ts";
import { recorder, waitStatus } from "./_helpers.ts";

let dir = "";
const runners: CheckRunner[] = [];
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "consulate-checks-script-"));
});
afterEach(() => {
  for (const r of runners.splice(0)) r.stop();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function run(raw: Record<string, unknown>) {
  const rec = recorder();
  const runner = createRunner(decodeCheckDefinition(raw), rec.env);
  runners.push(runner);
  runner.start();
  return { rec, runner };
}

async function script(name: string, body: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, body);
  return path;
}

test("exit 0 is passing, 1 warning, 2 critical; output is stdout and stderr together", async () => {
  const state = join(dir, "code");
  await writeFile(state, "0");
  const path = await script("flip.sh", `code=$(cat "$1")\necho "out $code"\necho "err $code" >&2\nexit "$code"\n`);
  const { rec } = run({ Args: ["sh", path, state], Interval: "30ms" });
  expect((await waitStatus(rec, "passing")).output).toBe("out 0\nerr 0\n");
  await writeFile(state, "1");
  expect((await waitStatus(rec, "warning")).output).toBe("out 1\nerr 1\n");
  await writeFile(state, "2");
  expect((await waitStatus(rec, "critical")).output).toBe("out 2\nerr 2\n");
  await writeFile(state, "0");
  await waitStatus(rec, "passing");
});

test("a script past its Timeout is killed with everything it started, and reported critical at once", async () => {
  const marker = `sleep 31.${Date.now() % 100000}`;
  const path = await script("hang.sh", `echo started\n${marker} &\nwait\n`);
  const started = Date.now();
  // FailuresBeforeCritical does not delay a timeout: Consul reports it directly.
  const { rec, runner } = run({ Args: ["sh", path], Interval: "5s", Timeout: "200ms", FailuresBeforeCritical: 5, Status: "passing" });
  const u = await waitStatus(rec, "critical");
  expect(u.output).toBe("Timed out (200ms) running check\n\nstarted\n");
  expect(Date.now() - started).toBeGreaterThanOrEqual(190);
  // The report comes after the process group has exited, so nothing may be left.
  expect(await running(marker)).toBe(false);
  runner.stop();
});

async function running(needle: string): Promise<boolean> {
  const { stdout } = await promisify(execFile)("ps", ["-eo", "args"]);
  return stdout.includes(needle);
}

async function until(cond: () => Promise<boolean>, what: string, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test("output beyond OutputMaxSize keeps its tail behind Consul's marker", async () => {
  const path = await script("loud.sh", `i=0\nwhile [ $i -lt 20 ]; do printf '0123456789'; i=$((i+1)); done\necho END\n`);
  const { rec } = run({ Args: ["sh", path], Interval: "5s", OutputMaxSize: 50 });
  const out = (await waitStatus(rec, "passing")).output;
  const full = "0123456789".repeat(20) + "END\n";
  expect(out).toBe(`Captured 50 of ${full.length} bytes\n...\n${full.slice(-50)}`);
});

test("a command that cannot start is critical with Go's exec error", async () => {
  const { rec } = run({ Args: ["consulate-no-such-command"], Interval: "5s", Status: "passing" });
  expect((await waitStatus(rec, "critical")).output).toBe('exec: "consulate-no-such-command": executable file not found in $PATH');
  const missing = join(dir, "missing.sh");
  const abs = run({ Args: [missing], Interval: "5s", Status: "passing" });
  expect((await waitStatus(abs.rec, "critical")).output).toBe(`fork/exec ${missing}: no such file or directory`);
});

test("stopping a check kills a running script and reports nothing more", async () => {
  const marker = `sleep 32.${Date.now() % 100000}`;
  const path = await script("slow.sh", `${marker}\n`);
  const { rec, runner } = run({ Args: ["sh", path], Interval: "5s", Timeout: "10s" });
  await until(() => running(marker), "the script to run");
  runner.stop();
  await until(async () => !(await running(marker)), "the script to be killed");
  expect(rec.updates).toEqual([]);
});
