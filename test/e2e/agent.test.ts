/** End-to-end: `consulate agent` as a process, driven over HTTP like a user would. */
import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type AgentProcess, startAgent, tempDir } from "./_agent.ts";

const cleanup: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

async function track(p: Promise<AgentProcess>): Promise<AgentProcess> {
  const a = await p;
  cleanup.push(() => a.kill());
  return a;
}

test("dev agent: KV, a lock through a session, blocking query, clean SIGTERM", async () => {
  const a = await track(startAgent(["-dev", "-node", "e2e-dev"]));
  const put = (path: string, body?: string) => fetch(`${a.base}${path}`, { method: "PUT", body }).then((r) => r.text());
  // A -dev agent indents JSON and ends it with a newline, as Consul's does.

  expect(await put("/v1/kv/cfg/db/url", "postgres://db")).toBe("true\n");
  expect(await (await fetch(`${a.base}/v1/kv/cfg/db/url?raw`)).text()).toBe("postgres://db");
  // Over the socket, a client that accepts gzip (as Go's does by default) gets it above 1400 bytes.
  expect(await put("/v1/kv/cfg/blob", "x".repeat(3000))).toBe("true\n");
  const curl = Bun.spawnSync(["curl", "-s", "-D", "-", "-o", "/dev/null", "-H", "Accept-Encoding: gzip", `${a.base}/v1/kv/cfg/blob`]);
  expect(curl.stdout.toString()).toMatch(/\r\nContent-Encoding: gzip\r\n/i);
  const inflated = Bun.spawnSync(["curl", "-s", "--compressed", `${a.base}/v1/kv/cfg/blob`]).stdout.toString();
  expect(inflated.startsWith('[\n    {\n        "LockIndex": 0,\n        "Key": "cfg/blob",')).toBe(true);

  // What tools parse: Consul's version numbers, the build's revision, a coordinate, host figures.
  const agentSelf = (await (await fetch(`${a.base}/v1/agent/self`)).json()) as { Config: { Version: string; Revision: string }; Coord: { Vec: number[] }; DebugConfig: Record<string, unknown>; Meta: Record<string, string> };
  expect(agentSelf.Config).toMatchObject({ Version: "1.22.0", Revision: "consulate-0.1.0" });
  // The node meta the agent registers, as Consul's State.Metadata() gives it.
  expect(agentSelf.Meta).toEqual({ "consul-network-segment": "" });
  expect(agentSelf.Coord.Vec).toHaveLength(8);
  expect(agentSelf.DebugConfig).toMatchObject({ DevMode: true, NodeName: "e2e-dev", ServerMode: true, Version: "1.22.0", HTTPPort: Number(new URL(a.base).port) });
  expect(await (await fetch(`${a.base}/v1/agent/version`)).json()).toEqual({ SHA: "consulate-0.1.0", BuildDate: "", HumanVersion: "1.22.0", FIPS: "" });
  const host = (await (await fetch(`${a.base}/v1/agent/host`)).json()) as { Memory: { total: number; usedPercent: number }; CPU: unknown[]; Host: { os: string }; Disk: { path: string; total: number }; CollectionTime: number };
  expect(host.Memory.total).toBeGreaterThan(0);
  expect(host.CPU.length).toBeGreaterThan(0);
  expect(host.Host.os).toBe("linux");
  expect(host.Disk).toMatchObject({ path: "/" });
  expect(host.Disk.total).toBeGreaterThan(0);
  expect(host.CollectionTime).toBeGreaterThan(1.7e18);

  // The agent's own node is registered with a passing serfHealth, so default sessions work.
  const self = (await (await fetch(`${a.base}/v1/health/node/e2e-dev`)).json()) as { CheckID: string; Status: string }[];
  expect(self).toEqual([expect.objectContaining({ CheckID: "serfHealth", Status: "passing" })]);
  const { ID: sid } = JSON.parse(await put("/v1/session/create", JSON.stringify({ Name: "leader", TTL: "10s" }))) as { ID: string };
  const { ID: other } = JSON.parse(await put("/v1/session/create", "{}")) as { ID: string };
  expect(await put(`/v1/kv/service/leader?acquire=${sid}`, "me")).toBe("true\n");
  expect(await put(`/v1/kv/service/leader?acquire=${other}`, "you")).toBe("false\n");

  // A watcher of the lock key wakes when the holder's session is destroyed.
  const first = await fetch(`${a.base}/v1/kv/service/leader`);
  const idx = Number(first.headers.get("x-consul-index"));
  const [row] = (await first.json()) as { Session?: string; LockIndex: number }[];
  expect(row!.Session).toBe(sid);
  expect(row!.LockIndex).toBe(1);
  const started = Date.now();
  const watch = fetch(`${a.base}/v1/kv/service/leader?index=${idx}&wait=20s`);
  await Bun.sleep(100);
  expect(await put(`/v1/session/destroy/${sid}`)).toBe("true\n");
  const woke = await watch;
  expect(Date.now() - started).toBeLessThan(5000);
  expect(Number(woke.headers.get("x-consul-index"))).toBeGreaterThan(idx);
  const [released] = (await woke.json()) as { Session?: string }[];
  expect(released!.Session).toBeUndefined();
  // Lock-delay (15s default) now keeps the other session out.
  expect(await put(`/v1/kv/service/leader?acquire=${other}`, "you")).toBe("false\n");

  expect(await a.stop()).toBe(0);
}, 30_000);

test("durable server: catalog, sessions and KV come back after a restart", async () => {
  const dir = await tempDir("consulate-e2e-");
  cleanup.push(() => dir.remove());
  const args = ["-server", "-bootstrap", "-data-dir", join(dir.path, "data"), "-node", "durable1"];
  const a = await track(startAgent(args));
  const put = (base: string, path: string, body?: string) => fetch(`${base}${path}`, { method: "PUT", body }).then((r) => r.text());
  await put(a.base, "/v1/catalog/register", JSON.stringify({ Node: "web1", Address: "10.1.0.1", Service: { Service: "web", Port: 8080, Tags: ["blue"] } }));
  const { ID: sid } = JSON.parse(await put(a.base, "/v1/session/create", JSON.stringify({ Name: "keep", Behavior: "delete" }))) as { ID: string };
  await put(a.base, `/v1/kv/locks/web?acquire=${sid}`, "held");
  const before = await (await fetch(`${a.base}/v1/catalog/service/web`)).json();
  const nodeId = ((await (await fetch(`${a.base}/v1/agent/self`)).json()) as { Config: { NodeID: string } }).Config.NodeID;
  expect(await a.stop()).toBe(0);

  const b = await track(startAgent(args));
  expect(await (await fetch(`${b.base}/v1/catalog/service/web`)).json()).toEqual(before);
  const sessions = (await (await fetch(`${b.base}/v1/session/list`)).json()) as { ID: string }[];
  expect(sessions.map((s) => s.ID)).toContain(sid);
  expect(((await (await fetch(`${b.base}/v1/agent/self`)).json()) as { Config: { NodeID: string } }).Config.NodeID).toBe(nodeId);
  // The session's secondary indexes were rebuilt: destroying it deletes its key (behavior delete).
  await put(b.base, `/v1/session/destroy/${sid}`);
  expect((await fetch(`${b.base}/v1/kv/locks/web`)).status).toBe(404);
  expect(await b.stop()).toBe(0);
}, 30_000);

test("bad flags and config are refused with a message and exit code 1", async () => {
  const { spawnSync } = await import("node:child_process");
  const { BUN, ROOT } = await import("./_agent.ts");
  const r = spawnSync(BUN, [join(ROOT, "src/cli/main.ts"), "agent", "-server"], { cwd: ROOT, encoding: "utf8" });
  expect(r.status).toBe(1);
  expect(r.stderr).toContain("data_dir cannot be empty");
  const bad = spawnSync(BUN, [join(ROOT, "src/cli/main.ts"), "agent", "-dev", "-log-level", "loud"], { cwd: ROOT, encoding: "utf8" });
  expect(bad.status).toBe(1);
  expect(bad.stderr).toContain("Invalid log level");
});
