/**
 * src/runtime/tcp.ts, the listener and dialer under the mesh gateway's
 * splice: back-pressure with a slow reader, half-close both ways, 48 MiB
 * each way through a splice, peer resets, a listener that stops without
 * leaving a socket, a refused dial. Under Bun on its own sockets and on
 * node:net (in-process), and under Node (bundled) and Deno as children.
 */
import { afterAll, expect, test } from "bun:test";
import { ROOT } from "../e2e/_agent.ts";
import { bundleForNode, runScenario } from "../connect/_scenario_runner.ts";
import { runChecks } from "./_tcp_scenario.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

function check(r: Record<string, unknown>, kind: string): void {
  const bp = r.backPressure as Record<string, number | boolean | string>;
  expect(bp.kind).toBe(kind);
  // write() said stop after the kernel buffers filled (a few MiB), not after the whole 250 MiB offered.
  expect(bp.writtenBeforeStop as number).toBeLessThan(64 * 1024 * 1024);
  expect(bp.drainedWhilePaused).toBe(0);
  // node:net reads ahead up to its stream's high-water mark even when paused.
  expect(bp.readWhilePaused as number).toBeLessThan(1024 * 1024);
  expect(bp.drained).toBe(true);
  expect(bp.bytes).toBe(bp.expectBytes as number);
  expect(bp.intact).toBe(true);

  const hc = r.halfClose as Record<string, string[]>;
  // Whoever sends its FIN first still reads what the other side writes after it.
  expect(hc.client).toEqual(expect.arrayContaining(["server got client-first", "server got FIN", "client got server-after-fin", "client got FIN", "client closed", "server closed"]));
  expect(hc.server).toEqual(expect.arrayContaining(["client got server-first", "client got FIN", "server got client-after-fin", "server got FIN", "client closed", "server closed"]));
  for (const log of [hc.client!, hc.server!]) expect(log.filter((l) => l.includes("closed")).every((l) => l.endsWith("closed"))).toBe(true);

  expect(r.splice).toEqual({ sent: 192 * 256 * 1024, bytes: 192 * 256 * 1024, intact: true });
  expect(r.reset).toEqual({ accepted: "error", spliced: "cut", dialed: "error" });
  expect(r.stop).toMatchObject({ refused: "TcpConnectError", echoed: "still here", left: 0 });
  expect((r.stop as { during: number }).during).toBeGreaterThanOrEqual(7);
  expect(r.refused).toMatch(/^TcpConnectError: connect to 127\.0\.0\.1:\d+: ECONNREFUSED$/);
}

test("native sockets (Bun.listen/Bun.connect)", async () => {
  check(await runChecks(false), "native");
}, 60_000);

test("node:net under the same runtime", async () => {
  check(await runChecks(true), "node:net");
}, 60_000);

test("node:net under Node", async () => {
  const { bundle, remove } = await bundleForNode(`${ROOT}/test/runtime/_tcp_scenario.ts`, "tcp-scenario");
  cleanups.push(remove);
  const r = await runScenario(["node", bundle, "--run"], 60_000);
  if (r.code !== 0 || !r.json) throw new Error(`scenario under Node failed:\n${r.out}`);
  check(r.json, "node:net");
}, 75_000);

test("node:net under Deno", async () => {
  const r = await runScenario([`${ROOT}/node_modules/.bin/deno`, "run", "-A", `${ROOT}/test/runtime/_tcp_scenario.ts`, "--run"], 60_000);
  if (r.code !== 0 || !r.json) throw new Error(`scenario under Deno failed:\n${r.out}`);
  check(r.json, "node:net");
}, 75_000);
