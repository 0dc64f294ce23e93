/** `consulate exec` against real dev agents: refused by default, run with `disable_remote_exec = false`. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Client } from "../../src/api/mod.ts";
import { runCliProcess } from "../api/harness.ts";
import { startAgent, tempDir, type AgentProcess } from "../e2e/_agent.ts";

let off: AgentProcess;
let on: AgentProcess;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  dir = await tempDir("consulate-exec-");
  const cfg = join(dir.path, "rexec.hcl");
  await writeFile(cfg, "disable_remote_exec = false\n");
  [off, on] = await Promise.all([startAgent(["-dev", "-log-level", "info"]), startAgent(["-dev", "-config-file", cfg])]);
}, 60_000);

afterAll(async () => {
  await Promise.all([off?.kill(), on?.kill()]);
  await dir?.remove();
});

const exec = (agent: AgentProcess, args: string[]) => runCliProcess(["exec", "-wait=600ms", ...args], { address: `127.0.0.1:${agent.port}` });

test("default agent: remote exec is disabled, nothing acknowledges, the agent logs why, the job is cleaned up", async () => {
  const r = await exec(off, ["echo hi"]);
  expect(r).toEqual({ code: 0, stdout: "0 / 0 node(s) completed / acknowledged\n", stderr: "" });
  expect(off.output()).toContain("ignoring remote exec event, disabled.");
  const client = new Client({ address: `127.0.0.1:${off.port}` });
  expect((await client.kv().keys("_rexec/"))[0]).toEqual([]);
  expect((await client.event().list("_rexec"))[0]).toEqual([]);
}, 30_000);

test("enabled agent: output and exit code per node in Consul's format, non-zero exit, filters, -shell=false", async () => {
  const client = new Client({ address: `127.0.0.1:${on.port}` });
  const node = await client.agent().nodeName();
  // As Consul's TargetedUI: output ending in a newline leaves a bare `    node:` line (Go trims only the end of the whole text).
  expect(await exec(on, ["echo", "hi"])).toEqual({
    code: 0,
    stdout: `    ${node}: hi\n    ${node}:\n==> ${node}: finished with exit code 0\n1 / 1 node(s) completed / acknowledged\n`,
    stderr: "",
  });
  expect(await exec(on, ["echo oops >&2; exit 3"])).toEqual({
    code: 2,
    stdout: `    ${node}: oops\n    ${node}:\n==> ${node}: finished with exit code 3\n1 / 1 node(s) completed / acknowledged\n`,
    stderr: "",
  });
  expect(await exec(on, ["-shell=false", "printf", "a\\nb"])).toMatchObject({ code: 0, stdout: `    ${node}: a\n    ${node}: b\n==> ${node}: finished with exit code 0\n1 / 1 node(s) completed / acknowledged\n` });
  expect(await exec(on, ["-node=^nope$", "echo hi"])).toEqual({ code: 0, stdout: "0 / 0 node(s) completed / acknowledged\n", stderr: "" });
  expect(await exec(on, ["-tag=x", "echo hi"])).toMatchObject({ code: 1, stderr: "Cannot provide tag filter without service filter.\n" });
  expect(await exec(on, [])).toMatchObject({ code: 1 });
  // Cleaned up: no job, no results, no session left; `_rexec` is not listed as a user event.
  expect((await client.kv().keys("_rexec/"))[0]).toEqual([]);
  expect((await client.session().list())[0]).toEqual([]);
  expect((await client.event().list("_rexec"))[0]).toEqual([]);
}, 60_000);
