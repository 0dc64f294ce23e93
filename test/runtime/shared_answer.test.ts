/**
 * One answer given to many parked requests on node:http: on Node its head
 * is built once per kind of connection and the others get node's own bytes
 * (src/runtime/shared_answer_node.ts); on Bun's and Deno's node:http every
 * response goes through writeHead. The bytes on the wire must be the same
 * either way, kept-alive connections must take their next request, closing
 * ones must close, and a pipelined request must follow its parked one.
 */
import { afterAll, expect, test } from "bun:test";
import { ROOT } from "../e2e/_agent.ts";
import { bundleForNode, runScenario } from "../connect/_scenario_runner.ts";
import { runChecks, type SharedAnswerFacts } from "./_shared_answer_scenario.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups) await c();
});

function check(r: SharedAnswerFacts, node: boolean): void {
  expect(r.given).toBe(8);
  const first = r.keepAlive[0]![0]!;
  expect(first.head).toStartWith("HTTP/1.1 200 OK\r\n");
  for (const line of ["X-Consul-Index: 9", "Content-Type: application/json", "Vary: Accept-Encoding"]) expect(first.head).toContain(`\r\n${line}`);
  expect(first.head).toMatch(/\r\ncontent-length: 8(\r\n|$)/i);
  expect(first.body).toBe('{"é":1}');
  for (const c of r.keepAlive) {
    expect(c[0]).toEqual(first);
    expect(c[2]!.body).toBe("now");
  }
  expect(r.pipelined[0]).toEqual(first);
  expect(r.pipelined[1]!.body).toBe("now");
  for (const c of r.closing) {
    expect(c.ended).toBe(true);
    expect(c.body).toBe('{"é":1}');
    expect(c.head).toContain("\r\nX-Consul-Index: 9");
  }
  const missing = r.notFound[0]!;
  expect(missing.head).toStartWith("HTTP/1.1 404 Not Found\r\n");
  expect(missing.head).toMatch(/\r\ncontent-length: 0(\r\n|$)/i);
  for (const m of r.notFound) expect(m).toEqual(missing);
  if (node) {
    // node's own head lines, on the shared bytes as on the first response of each kind.
    expect(first.head).toContain("\r\nConnection: keep-alive");
    expect(first.head).toContain("\r\nDate: -");
    for (const c of r.closing) expect(c.head).toContain("\r\nConnection: close");
    expect(withoutConnection(r.closing[0]!.head)).toBe(withoutConnection(first.head));
    // One head per kind of connection (kept alive, closing), two more should a second turn over in between.
    expect(r.writeHeads).toBeLessThanOrEqual(4);
  } else {
    expect(r.writeHeads).toBe(8);
  }
}

/** A head without its Connection line. */
const withoutConnection = (head: string): string => head.replace(/\r\nConnection: [^\r]*/, "");

test("under the same runtime (node:http of Bun: every head by writeHead)", async () => {
  check(await runChecks(), false);
}, 30_000);

test("under Node: one head per kind of connection, the same bytes", async () => {
  const { bundle, remove } = await bundleForNode(`${ROOT}/test/runtime/_shared_answer_scenario.ts`, "shared-answer-scenario");
  cleanups.push(remove);
  const r = await runScenario(["node", bundle, "--run"], 30_000);
  if (r.code !== 0 || !r.json) throw new Error(`scenario under Node failed:\n${r.out}`);
  check(r.json as unknown as SharedAnswerFacts, true);
}, 60_000);

test("under Deno", async () => {
  const r = await runScenario([`${ROOT}/node_modules/.bin/deno`, "run", "-A", `${ROOT}/test/runtime/_shared_answer_scenario.ts`, "--run"], 30_000);
  if (r.code !== 0 || !r.json) throw new Error(`scenario under Deno failed:\n${r.out}`);
  check(r.json as unknown as SharedAnswerFacts, false);
}, 60_000);
