/**
 * Traffic management through real sidecars on a real agent
 * (_traffic_scenario.ts: splits, routes, retries, timeouts, circuit breakers,
 * ejection, ring hash, redirect and failover), under Bun and under Node.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type AgentProcess, BUN, ROOT, startAgent } from "../e2e/_agent.ts";
import { bundleForNode, runScenario } from "./_scenario_runner.ts";

let agent: AgentProcess;
const cleanups: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  agent = await startAgent(["-dev"]);
});
afterAll(async () => {
  await agent.stop();
  for (const c of cleanups) await c();
});

const run = (argv: string[]) => runScenario(argv, 110_000);

const scenario = join(ROOT, "test/connect/_traffic_scenario.ts");
const addr = () => `127.0.0.1:${agent.port}`;

function check(r: { code: number | null; json: Record<string, unknown> | null; out: string }, runtime: string): void {
  if (r.code !== 0) throw new Error(`traffic scenario under ${runtime} failed:\n${r.out}`);
  expect(r.json).toMatchObject({ runtime, ok: true, limits: { shed: 90, served: 10 }, retries: { clientFailures: 0 }, redirect: { failed: 0 }, failover: { failed: 0 } });
}

test("traffic management under Bun", async () => {
  check(await run([BUN, scenario, addr(), "bun"]), "bun");
}, 120_000);

test("traffic management under Node", async () => {
  const { bundle, remove } = await bundleForNode(scenario, "traffic-scenario");
  cleanups.push(remove);
  check(await run(["node", bundle, addr(), "node"]), "node");
}, 120_000);
