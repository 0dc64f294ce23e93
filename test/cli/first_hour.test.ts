/** The first-hour commands against a real dev agent: info, monitor. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCliProcess, startCli, startTestAgent, type TestAgent } from "../api/harness.ts";

let agent: TestAgent;
const cli = (args: string[]) => runCliProcess(args, { address: agent.address });

beforeAll(async () => {
  agent = await startTestAgent();
});
afterAll(async () => {
  await agent?.stop();
});

test("info prints the agent's stats by section, sorted, as Consul does", async () => {
  await fetch(`http://${agent.address}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "web", Check: { TTL: "10m" } }) });
  const r = await cli(["info"]);
  expect(r.code).toBe(0);
  const sections = r.stdout.split("\n").filter((l) => /^\S+:$/.test(l));
  expect(sections).toEqual(["agent:", "build:", "consul:", "raft:", "runtime:", "serf_lan:", "serf_wan:"]);
  expect(r.stdout).toMatch(/raft:\n\tapplied_index = [1-9]\d*\n\tstate = Leader\n/);
  expect(r.stdout).toContain("agent:\n\tcheck_monitors = 0\n\tcheck_ttls = 1\n\tchecks = 1\n\tservices = 1\n");
  expect(r.stdout).toContain("\tleader = true\n");
  expect(r.stdout).toMatch(/\tleader_addr = 127\.0\.0\.1:\d+\n/);
  expect(r.stdout).toContain("serf_lan:\n\tencrypted = false\n\tfailed = 0\n");
  expect(r.stdout).toContain("\tversion = 1.22.0\n");
  expect(r.stdout).toContain("\trevision = consulate-0.1.0\n");
}, 60_000);

test("monitor streams log lines, in JSON with -log-json, until interrupted; a bad level is refused", async () => {
  const bad = await cli(["monitor", "-log-level=loud"]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("Error starting monitor: Unexpected response code: 400 (Unknown log level: loud)");

  const text = startCli(["monitor", "-log-level=info"], { address: agent.address });
  const json = startCli(["monitor", "-log-level=debug", "-log-json"], { address: agent.address });
  // Registering until both monitors are attached and have seen a sync line.
  for (let i = 0; !(text.stdout().includes("Synced service: service=mon") && json.stdout().includes("Synced service: service=mon")); i++) {
    if (i > 100) throw new Error(`no sync line seen:\n${text.stdout()}\n${json.stdout()}`);
    await fetch(`http://${agent.address}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "mon", Port: 1000 + i }) });
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(text.stdout()).toMatch(/^\S+Z \[INFO\] agent\.anti_entropy: Synced service: service=mon$/m);
  const line = json.stdout().split("\n").find((l) => l.includes("Synced service"))!;
  expect(JSON.parse(line)).toMatchObject({ "@level": "info", "@message": "Synced service: service=mon", "@module": "agent.anti_entropy" });
  text.kill("SIGINT");
  json.kill("SIGINT");
  expect((await text.done).code).toBe(0);
  expect((await json.done).code).toBe(0);
}, 60_000);

test("monitor says so when the agent goes away", async () => {
  const own = await startTestAgent();
  const run = startCli(["monitor"], { address: own.address });
  for (let i = 0; !run.stdout().includes("Synced service"); i++) {
    if (i > 100) throw new Error("the monitor never attached");
    await fetch(`http://${own.address}/v1/agent/service/register`, { method: "PUT", body: JSON.stringify({ Name: "gone", Port: 1000 + i }) });
    await new Promise((r) => setTimeout(r, 100));
  }
  await own.stop();
  const done = await run.done;
  expect(done.code).toBe(1);
  expect(done.stdout).toContain("Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.");
}, 60_000);
