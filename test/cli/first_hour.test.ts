/** The first-hour commands against a real dev agent: info, monitor. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { runCliProcess, startTestAgent, type TestAgent } from "../api/harness.ts";

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
  expect(sections).toEqual(["agent:", "build:", "consul:", "runtime:", "serf_lan:", "serf_wan:"]);
  expect(r.stdout).toContain("agent:\n\tcheck_monitors = 0\n\tcheck_ttls = 1\n\tchecks = 1\n\tservices = 1\n");
  expect(r.stdout).toContain("\tleader = true\n");
  expect(r.stdout).toMatch(/\tleader_addr = 127\.0\.0\.1:\d+\n/);
  expect(r.stdout).toContain("serf_lan:\n\tencrypted = false\n\tfailed = 0\n");
  expect(r.stdout).toContain("\tversion = 0.1.0\n");
});
