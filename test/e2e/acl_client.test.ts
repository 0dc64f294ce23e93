/**
 * A client agent with ACLs (default deny, token_ttl 1s, down_policy
 * extend-cache) joined to one server: with only its agent token (node "cli"
 * and its own services, no management rights) it registers the services of
 * its config and runs their checks; its agent endpoints resolve tokens by
 * RPC through its server; with the server killed, a token it has seen keeps
 * its rights past token_ttl, and one it never saw is refused.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { createServer, type Server as NetServer } from "node:net";
import { join } from "node:path";
import { type AgentProcess, freePort, startAgent, tempDir } from "./_agent.ts";

const ROOT = "5c1d7a2e-3b4f-4c5d-8e6f-7a8b9c0d1e2f";
/** The client's agent token: written on node "cli" and its services api and web, nothing else. */
const AGENT = "6d2e8b3f-4c5a-4d6e-9f7a-8b9c0d1e2f3a";
let checked: NetServer;
const cleanups: (() => Promise<unknown>)[] = [];
let server: AgentProcess;
let client: AgentProcess;

beforeAll(async () => {
  const dir = await tempDir("consulate-acl-client-");
  cleanups.push(() => dir.remove());
  const acl = (extra: Record<string, unknown>) => ({ acl: { enabled: true, default_policy: "deny", tokens: { initial_management: ROOT, agent: ROOT }, ...extra } });
  // What the client's TCP check probes.
  checked = createServer((sock) => sock.end()).listen(0, "127.0.0.1");
  await new Promise((r) => checked.once("listening", r));
  const checkPort = (checked.address() as { port: number }).port;
  cleanups.push(() => new Promise((r) => checked.close(r)));
  await writeFile(join(dir.path, "server.json"), JSON.stringify(acl({})));
  const clientAcl = { enabled: true, default_policy: "deny", down_policy: "extend-cache", token_ttl: "1s", tokens: { agent: AGENT } };
  const services = [
    { name: "api", port: 9000, check: { tcp: `127.0.0.1:${checkPort}`, interval: "500ms" } },
    { name: "secret", port: 9001 },
  ];
  await writeFile(join(dir.path, "client.json"), JSON.stringify({ acl: clientAcl, services }));
  const serf = await freePort();
  server = await startAgent(["-node", "srv", "-server", "-bootstrap", "-serf-lan-port", String(serf), "-data-dir", join(dir.path, "srv"), "-config-file", join(dir.path, "server.json")]);
  cleanups.push(() => server.kill());
  // The agent token exists before the client starts (the leader writes ROOT first).
  const rules = 'node "cli" { policy = "write" }\nservice "api" { policy = "write" }\nservice "web" { policy = "write" }';
  const deadline = Date.now() + 20_000;
  for (;;) {
    const p = await fetch(`${server.base}/v1/acl/policy`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ Name: "cli-agent", Rules: rules }) });
    if (p.status === 200) {
      const t = await fetch(`${server.base}/v1/acl/token`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ SecretID: AGENT, Policies: [{ Name: "cli-agent" }] }) });
      expect(t.status).toBe(200);
      break;
    }
    if (Date.now() > deadline) throw new Error(`policy: ${p.status} ${await p.text()}`);
    await Bun.sleep(100);
  }
  client = await startAgent(["-node", "cli", "-join", `127.0.0.1:${serf}`, "-data-dir", join(dir.path, "cli"), "-config-file", join(dir.path, "client.json")]);
  cleanups.push(() => client.kill());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

test("with only its agent token the client registers its own services and runs their checks; a service the token may not write stays out", async () => {
  type Entry = { Node: { Node: string }; Service: { Service: string }; Checks: { CheckID: string; Status: string; ServiceName: string }[] };
  const health = async (): Promise<Entry[]> => (await (await fetch(`${server.base}/v1/health/service/api?token=${ROOT}`)).json()) as Entry[];
  const apiCheck = async () => (await health())[0]?.Checks.find((c) => c.ServiceName === "api")?.Status;
  const until = async (what: string, cond: () => Promise<boolean>) => {
    const end = Date.now() + 20_000;
    while (!(await cond())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await Bun.sleep(100);
    }
  };
  await until("api passing in the catalog", async () => (await apiCheck()) === "passing");
  expect((await health()).map((e) => e.Node.Node)).toEqual(["cli"]);
  // The check runs on the client: its target gone, the catalog learns it.
  await new Promise((r) => checked.close(r));
  await until("api critical in the catalog", async () => (await apiCheck()) === "critical");
  // service:write on "secret" is not the agent token's: it never reaches the catalog, though the client holds it.
  const secret = (await (await fetch(`${server.base}/v1/catalog/service/secret?token=${ROOT}`)).json()) as unknown[];
  expect(secret).toEqual([]);
  expect(Object.keys((await (await fetch(`${client.base}/v1/agent/services?token=${ROOT}`)).json()) as object).sort()).toEqual(["api", "secret"]);
}, 30_000);

test("the client resolves tokens through its server and follows extend-cache when the server is gone", async () => {
  const put = (base: string, path: string, body: unknown, token?: string) =>
    fetch(`${base}${path}`, { method: "PUT", headers: token ? { "X-Consul-Token": token } : {}, body: JSON.stringify(body) });
  const policy = await (await put(server.base, "/v1/acl/policy", { Name: "web", Rules: 'service "web" { policy = "write" }' }, ROOT)).json();
  const token = await (await put(server.base, "/v1/acl/token", { Policies: [{ ID: policy.ID }] }, ROOT)).json();
  const other = await (await put(server.base, "/v1/acl/token", { Policies: [{ ID: policy.ID }] }, ROOT)).json();

  // The client knows no token itself: it asks its server (once it has found it by gossip).
  const deadline = Date.now() + 20_000;
  let status = 0;
  while (Date.now() < deadline && (status = (await put(client.base, "/v1/agent/service/register", { Name: "web", Port: 80 }, token.SecretID)).status) !== 200) await Bun.sleep(200);
  expect(status).toBe(200);
  const db = await put(client.base, "/v1/agent/service/register", { Name: "db", Port: 5432 }, token.SecretID);
  expect(db.status).toBe(403);
  expect(await db.text()).toBe(`Permission denied: token with AccessorID '${token.AccessorID}' lacks permission 'service:write' on "db"`);
  expect((await put(client.base, "/v1/agent/service/register", { Name: "web", Port: 81 })).status).toBe(403);

  await server.kill();
  await Bun.sleep(1_500); // past token_ttl
  expect((await put(client.base, "/v1/agent/service/register", { Name: "web", Port: 82 }, token.SecretID)).status).toBe(200);
  expect((await put(client.base, "/v1/agent/service/register", { Name: "db", Port: 5432 }, token.SecretID)).status).toBe(403);
  // Never seen by this client: no server to ask, nothing cached, denied.
  expect((await put(client.base, "/v1/agent/service/register", { Name: "web", Port: 83 }, other.SecretID)).status).toBe(403);
}, 60_000);
