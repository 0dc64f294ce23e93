/**
 * The same sidecar scenario (_mesh_scenario.ts: sidecar_service registrations,
 * web -> two sidecars -> db, intention deny/allow by the CLI within a second,
 * L7 POST /admin 403, a 90/10 splitter over two instances, a deny cutting
 * resumed TLS sessions and pooled connections made while allowed) against one
 * real agent, with the sidecars running under Bun, Deno and Node in turn.
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

const run = (argv: string[]) => runScenario(argv, 50_000);

const scenario = join(ROOT, "test/connect/_mesh_scenario.ts");
const addr = () => `127.0.0.1:${agent.port}`;

function check(r: { code: number | null; json: Record<string, unknown> | null; out: string }, runtime: string): void {
  if (process.env.DEBUG_SCENARIO) console.log(JSON.stringify(r.json));
  if (r.code !== 0) throw new Error(`scenario under ${runtime} failed:\n${r.out}`);
  expect(r.json).toMatchObject({ runtime, ok: true, reach: { status: 200 }, postAdmin: { status: 403, text: "RBAC: access denied" }, getRoot: { status: 200 } });
  const split = r.json!.split as Record<string, number>;
  expect((split.v1 ?? 0) + (split.v2 ?? 0)).toBe(200);
  expect(split.v2 ?? 0).toBeGreaterThanOrEqual(8);
  expect(split.v2 ?? 0).toBeLessThanOrEqual(40);
  expect(r.json!.denyMs as number).toBeLessThan(1000);
  expect(r.json!.allowMs as number).toBeLessThan(1000);
  // The deny written last answers 403 on web's kept-alive sidecar-to-sidecar connections, without a new dial.
  expect(r.json!.pooledDeny).toMatchObject({ status: 403, text: "RBAC: access denied", dialled: 0 });
  expect((r.json!.pooledDeny as { reused: number }).reused).toBeGreaterThanOrEqual(1);
  const hs = r.json!.handshakesAllowed as { full: number; resumed: number };
  if (runtime === "deno") {
    // Deno's node:tls offers no session back, so every connection is a full handshake there (still judged the same way).
    expect(hs.resumed).toBe(0);
  } else {
    // Connections to the same instance resume its session, and the L4 deny refuses connections made that way.
    expect(hs.resumed).toBeGreaterThanOrEqual(2);
    expect(r.json!.refusedResumed as number).toBeGreaterThanOrEqual(1);
  }
}

test("sidecars under Bun", async () => {
  check(await run([BUN, scenario, addr(), "bun", ROOT]), "bun");
}, 75_000);

test("sidecars under Deno", async () => {
  check(await run([join(ROOT, "node_modules/.bin/deno"), "run", "-A", scenario, addr(), "deno", ROOT]), "deno");
}, 75_000);

test("sidecars under Node", async () => {
  const { bundle, remove } = await bundleForNode(scenario, "mesh-scenario");
  cleanups.push(remove);
  check(await run(["node", bundle, addr(), "node", ROOT]), "node");
}, 75_000);
