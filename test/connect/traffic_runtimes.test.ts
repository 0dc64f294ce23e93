/**
 * Traffic management through real sidecars on a real agent
 * (_traffic_scenario.ts: splits, routes, retries, timeouts, circuit breakers,
 * ejection, ring hash, redirect and failover), under Bun and under Node; and
 * HTTP/2 and gRPC at L7 (_grpc_scenario.ts: health check, split, streaming,
 * retries on gRPC status, DEADLINE_EXCEEDED, an L7 intention's
 * PERMISSION_DENIED, curl over HTTP/2) under Bun, Node and Deno.
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

const grpcScenario = join(ROOT, "test/connect/_grpc_scenario.ts");

function checkGrpc(r: { code: number | null; json: Record<string, unknown> | null; out: string }, runtime: string): void {
  if (r.code !== 0) throw new Error(`gRPC scenario under ${runtime} failed:\n${r.out}`);
  expect(r.json).toMatchObject({
    runtime,
    ok: true,
    health: { grpcStatus: 0, serving: true },
    retries: { clientFailures: 0 },
    timeout: { grpcStatus: 4 },
    intention: { grpcStatus: 7, grpcMessage: "RBAC: access denied", allowedStatus: 0 },
  });
}

test("HTTP/2 and gRPC under Bun", async () => {
  checkGrpc(await runScenario([BUN, grpcScenario, addr(), "gb"], 80_000), "bun");
}, 90_000);

test("HTTP/2 and gRPC under Node", async () => {
  const { bundle, remove } = await bundleForNode(grpcScenario, "grpc-scenario");
  cleanups.push(remove);
  checkGrpc(await runScenario(["node", bundle, addr(), "gn"], 80_000), "node");
}, 90_000);

test("HTTP/2 and gRPC under Deno", async () => {
  checkGrpc(await runScenario([join(ROOT, "node_modules/.bin/deno"), "run", "-A", grpcScenario, addr(), "gd"], 80_000), "deno");
}, 90_000);
