/**
 * A client agent with ACLs (default deny, token_ttl 1s, down_policy
 * extend-cache) joined to one server: its agent endpoints resolve tokens by
 * RPC through its server; with the server killed, a token it has seen keeps
 * its rights past token_ttl, and one it never saw is refused.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, freePort, startAgent, tempDir } from "./_agent.ts";

const ROOT = "5c1d7a2e-3b4f-4c5d-8e6f-7a8b9c0d1e2f";
const cleanups: (() => Promise<unknown>)[] = [];
let server: AgentProcess;
let client: AgentProcess;

beforeAll(async () => {
  const dir = await tempDir("consulate-acl-client-");
  cleanups.push(() => dir.remove());
  const acl = (extra: Record<string, unknown>) => ({ acl: { enabled: true, default_policy: "deny", tokens: { initial_management: ROOT, agent: ROOT }, ...extra } });
  await writeFile(join(dir.path, "server.json"), JSON.stringify(acl({})));
  await writeFile(join(dir.path, "client.json"), JSON.stringify(acl({ down_policy: "extend-cache", token_ttl: "1s" })));
  const serf = await freePort();
  server = await startAgent(["-node", "srv", "-server", "-bootstrap", "-serf-lan-port", String(serf), "-data-dir", join(dir.path, "srv"), "-config-file", join(dir.path, "server.json")]);
  cleanups.push(() => server.kill());
  client = await startAgent(["-node", "cli", "-join", `127.0.0.1:${serf}`, "-data-dir", join(dir.path, "cli"), "-config-file", join(dir.path, "client.json")]);
  cleanups.push(() => client.kill());
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

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
