/** `consulate operator autopilot get-config | set-config | state` against a real dev agent. */
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

test("get-config shows Consul's defaults; set-config changes only the flags given; bad flags are refused", async () => {
  const defaults = [
    "CleanupDeadServers = true",
    "LastContactThreshold = 200ms",
    "MaxTrailingLogs = 250",
    "MinQuorum = 0",
    "ServerStabilizationTime = 10s",
    'RedundancyZoneTag = ""',
    "DisableUpgradeMigration = false",
    'UpgradeVersionTag = ""',
  ];
  expect(await cli(["operator", "autopilot", "get-config"])).toEqual({ code: 0, stdout: `${defaults.join("\n")}\n`, stderr: "" });
  expect(await cli(["operator", "autopilot", "set-config", "-cleanup-dead-servers=false", "-max-trailing-logs=7", "-last-contact-threshold=1s", "-min-quorum=3"])).toEqual({
    code: 0,
    stdout: "Configuration updated!\n",
    stderr: "",
  });
  const after = (await cli(["operator", "autopilot", "get-config"])).stdout.split("\n");
  expect(after.slice(0, 5)).toEqual(["CleanupDeadServers = false", "LastContactThreshold = 1s", "MaxTrailingLogs = 7", "MinQuorum = 3", "ServerStabilizationTime = 10s"]);
  const bad = await cli(["operator", "autopilot", "set-config", "-max-trailing-logs=-1"]);
  expect(bad.code).toBe(1);
  expect(bad.stderr).toContain("-max-trailing-logs");
  expect((await cli(["operator", "autopilot", "set-config", "-last-contact-threshold=soon"])).code).toBe(1);
  expect((await cli(["operator", "autopilot", "get-config"])).stdout.split("\n").slice(0, 5)).toEqual(after.slice(0, 5));
});

test("state names the single server as leader and voter", async () => {
  const pretty = await cli(["operator", "autopilot", "state"]);
  expect(pretty.code).toBe(0);
  expect(pretty.stdout).toContain("Healthy:                      true");
  expect(pretty.stdout).toContain("Status:          leader");
  const json = await cli(["operator", "autopilot", "state", "-format=json"]);
  const s = JSON.parse(json.stdout) as { Healthy: boolean; Leader: string; Voters: string[] };
  expect(s.Healthy).toBe(true);
  expect(s.Voters).toEqual([s.Leader]);
  expect((await cli(["operator", "autopilot", "state", "-format=xml"])).code).toBe(1);
});
