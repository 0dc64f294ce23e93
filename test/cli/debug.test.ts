/** `consulate debug` against a real dev agent: validation, the archive's files, and their contents. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { runCli } from "../../src/cli/run.ts";
import { startAgent, tempDir, type AgentProcess } from "../e2e/_agent.ts";
import { memoryIo } from "./memory_io.ts";

let agent: AgentProcess;
let dir: { path: string; remove(): Promise<void> };

beforeAll(async () => {
  agent = await startAgent(["-dev"]);
  dir = await tempDir("consulate-debug-");
}, 60_000);

afterAll(async () => {
  await agent?.stop();
  await dir?.remove();
}, 30_000);

async function run(args: string[]) {
  const io = memoryIo();
  const code = await runCli(["debug", `-http-addr=127.0.0.1:${agent.port}`, ...args], io);
  return { code, out: io.stdoutText(), err: io.stderrText() };
}

test("debug enforces Consul's minimums and known targets before writing anything", async () => {
  const out = join(dir.path, "never");
  expect(await run(["-duration=5s", `-output=${out}`])).toMatchObject({ code: 1, err: expect.stringContaining("duration must be longer than 10s") });
  expect(await run(["-interval=1s", `-output=${out}`])).toMatchObject({ code: 1, err: expect.stringContaining("interval must be longer than 5s") });
  expect(await run(["-interval=20s", "-duration=10s", `-output=${out}`])).toMatchObject({ code: 1, err: expect.stringContaining("duration (10s) must be longer than interval (20s)") });
  expect(await run(["-capture=bogus", `-output=${out}`])).toMatchObject({ code: 1, err: expect.stringContaining("target not found: bogus") });
  expect((await run(["extra"])).err).toContain("Too many arguments provided, expected 0");
  expect(existsSync(out)).toBe(false);
  expect((await run([`-output=${dir.path}`])).err).toContain("output directory already exists");
});

test("debug captures agent, members, metrics per interval and logs into a .tar.gz", async () => {
  const out = join(dir.path, "cap");
  const r = await run(["-interval=5s", "-duration=10s", `-output=${out}`]);
  expect(r.code).toBe(0);
  expect(r.out).toContain("==> Starting debugger and capturing static information...");
  expect(r.out).toContain("          Interval: '5s'");
  expect(r.out).toContain(`            Output: '${out}.tar.gz'`);
  expect(r.out).toContain("           Capture: 'metrics, logs, host, agent, members'");
  expect(r.out).toMatch(/==> Capture successful .* \(2\)/);
  expect(r.out).toContain(`Saved debug archive: ${out}.tar.gz`);
  expect(r.err).toContain("Unable to capture pprof");
  expect(r.err).not.toContain("host.json not written");
  expect(existsSync(out)).toBe(false);

  const listed = execFileSync("tar", ["-tzf", `${out}.tar.gz`]).toString().trim().split("\n");
  for (const f of ["cap/agent.json", "cap/host.json", "cap/members.json", "cap/consul.log", "cap/index.json"]) expect(listed).toContain(f);
  const metrics = listed.filter((f) => /^cap\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ\/metrics\.json$/.test(f));
  expect(metrics.length).toBeGreaterThanOrEqual(3);

  const extracted = join(dir.path, "x");
  execFileSync("mkdir", ["-p", extracted]);
  execFileSync("tar", ["-xzf", `${out}.tar.gz`, "-C", extracted]);
  const self = JSON.parse(readFileSync(join(extracted, "cap/agent.json"), "utf8")) as { Config: { Version: string; NodeName: string } };
  expect(typeof self.Config.Version).toBe("string");
  const host = JSON.parse(readFileSync(join(extracted, "cap/host.json"), "utf8")) as { Memory: { total: number }; Host: { hostname: string } };
  expect(host.Memory.total).toBeGreaterThan(0);
  expect(host.Host.hostname).not.toBe("");
  const index = JSON.parse(readFileSync(join(extracted, "cap/index.json"), "utf8")) as Record<string, unknown>;
  expect(index).toEqual({ Version: 1, AgentVersion: self.Config.Version, Interval: "5s", Duration: "12s", Targets: ["metrics", "logs", "host", "agent", "members"] });
  const members = JSON.parse(readFileSync(join(extracted, "cap/members.json"), "utf8")) as { Name: string }[];
  // Consul's debug records the WAN pool (Members(true)): names carry the datacenter.
  expect(members.map((m) => m.Name)).toContain(`${self.Config.NodeName}.dc1`);
  const m0 = JSON.parse(readFileSync(join(extracted, metrics[0]!), "utf8")) as Record<string, unknown>;
  expect(m0).toHaveProperty("Gauges");
  // The gzip stream is a plain tar: ends with two zero blocks.
  const tar = gunzipSync(readFileSync(`${out}.tar.gz`));
  expect(tar.length % 512).toBe(0);
}, 60_000);

test("debug -archive=false leaves the folder and only the asked-for targets", async () => {
  const out = join(dir.path, "plain");
  const r = await run(["-interval=5s", "-duration=10s", "-archive=false", "-capture=agent", `-output=${out}`]);
  expect(r.code).toBe(0);
  expect(existsSync(join(out, "agent.json"))).toBe(true);
  expect(existsSync(join(out, "members.json"))).toBe(false);
  expect(existsSync(`${out}.tar.gz`)).toBe(false);
}, 60_000);
