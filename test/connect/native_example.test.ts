/**
 * examples/native/app.ts against a real agent: the hono "db" app served
 * Connect-native under Bun, the "web" app under Deno calling it through the
 * mesh; a deny intention cuts the call and removing it restores it.
 */
import { afterAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { join } from "node:path";
import { BUN, freePort, ROOT, startAgent } from "../e2e/_agent.ts";

const procs: ChildProcess[] = [];
afterAll(async () => {
  for (const p of procs) {
    if (p.exitCode === null) p.kill("SIGTERM");
    await new Promise((r) => (p.exitCode === null ? p.once("exit", r) : r(null)));
  }
});

function start(argv: string[], env: Record<string, string>): { output: () => string } {
  const p = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  p.stdout!.on("data", (d) => (out += d));
  p.stderr!.on("data", (d) => (out += d));
  procs.push(p);
  return { output: () => out };
}

async function until(ms: number, probe: () => Promise<boolean> | boolean): Promise<boolean> {
  const t0 = Date.now();
  while (Date.now() - t0 < ms) {
    if (await probe()) return true;
    await Bun.sleep(50);
  }
  return false;
}

test("the native example: web (Deno) reaches db (Bun) over mutual TLS; a deny intention cuts it", async () => {
  const agent = await startAgent(["-dev"]);
  procs.push(agent.child);
  const env = { CONSUL_HTTP_ADDR: `127.0.0.1:${agent.port}` };
  const app = join(ROOT, "examples/native/app.ts");
  const db = start([BUN, app, "db", "0"], env);
  expect(await until(15_000, () => db.output().includes("db: serving over mutual TLS"))).toBe(true);
  const webPort = await freePort();
  const web = start([join(ROOT, "node_modules/.bin/deno"), "run", "-A", app, "web", String(webPort)], env);
  expect(await until(20_000, () => web.output().includes("web: plain HTTP"))).toBe(true);
  const get = async () => {
    const res = await fetch(`http://127.0.0.1:${webPort}/`, { headers: { connection: "close" } });
    return { status: res.status, text: await res.text() };
  };
  expect(await until(10_000, async () => (await get()).status === 200)).toBe(true);
  expect(await get()).toEqual({ status: 200, text: 'web got from db: {"rows":[1,2,3]}\n' });

  const put = await fetch(`${agent.base}/v1/connect/intentions/exact?source=web&destination=db`, { method: "PUT", body: JSON.stringify({ Action: "deny" }) });
  expect(put.status).toBe(200);
  expect(await until(1_000, async () => (await get()).status === 502)).toBe(true);
  expect(db.output()).toContain("inbound: refused web");
  await fetch(`${agent.base}/v1/connect/intentions/exact?source=web&destination=db`, { method: "DELETE" });
  expect(await until(1_000, async () => (await get()).status === 200)).toBe(true);
}, 60_000);
