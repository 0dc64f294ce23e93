/**
 * ACLs end to end on a dev agent with default_policy deny: the CLI (policy,
 * token, set-agent-token, -token, -token-file), the npm
 * `consul` client with a token, and DNS answering only what the dns token may read.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Consul from "consul";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { runCliProcess } from "../api/harness.ts";
import { digAt } from "../dns/_dig.ts";
import { type AgentProcess, freePort, startAgent } from "./_agent.ts";
import { cleanupAll, newDir, waitUntil } from "./_local_agent.ts";

const ROOT = "0c6e3b1e-6f2a-4d43-9a62-0f3f6f6b1a11";
let agent: AgentProcess & { dir: string };
let dnsPort: number;

const cli = (args: string[], env: Record<string, string> = {}) => runCliProcess(args, { address: `127.0.0.1:${agent.port}`, env });
const secretOf = (out: string): string => out.match(/^SecretID:\s+(\S+)$/m)![1]!;

beforeAll(async () => {
  dnsPort = await freePort();
  const dir = await newDir();
  const config = join(dir, "acl.json");
  await writeFile(config, JSON.stringify({ acl: { enabled: true, default_policy: "deny", down_policy: "extend-cache", tokens: { initial_management: ROOT, agent: ROOT } } }));
  agent = { ...(await startAgent(["-dev", "-node", "acl-node", "-dns-port", String(dnsPort), "-config-file", config])), dir };
});
afterAll(async () => {
  await agent?.kill();
  await cleanupAll();
});

test("anonymous is refused; the CLI makes a policy and a token; the npm client writes only under its prefix", async () => {
  const anon = await fetch(`${agent.base}/v1/kv/app/x`, { method: "PUT", body: "1" });
  expect(anon.status).toBe(403);
  expect(await anon.text()).toStartWith("Permission denied: anonymous token lacks permission 'key:write' on \"app/x\"");
  expect(anon.headers.get("X-Consul-Default-ACL-Policy")).toBe("deny");
  expect((await fetch(`${agent.base}/v1/catalog/services`)).status).toBe(200);

  const denied = await cli(["acl", "policy", "list"]);
  expect(denied.code).toBe(1);
  expect(denied.stderr).toContain("Failed to retrieve the policy list: Unexpected response code: 403 (Permission denied: anonymous token lacks permission 'acl:read'");

  const policy = await cli(["acl", "policy", "create", "-name", "app", "-rules", 'key_prefix "app/" { policy = "write" }\nservice "web" { policy = "write" }', "-token", ROOT]);
  expect(policy.stderr).toBe("");
  expect(policy.stdout).toMatch(/^ID:\s+[0-9a-f-]{36}\nName:\s+app\nDescription:\s+\nDatacenters:\s+\nRules:\nkey_prefix "app\/"/);

  const token = await cli(["acl", "token", "create", "-description", "app token", "-policy-name", "app", "-token", ROOT]);
  expect(token.code).toBe(0);
  expect(token.stdout).toMatch(/^AccessorID:\s+[0-9a-f-]{36}\nSecretID:\s+[0-9a-f-]{36}\nDescription:\s+app token\nLocal:\s+false\nCreate Time:\s+\d{4}-\d\d-\d\d \S+ \+0000 UTC\nPolicies:\n {3}[0-9a-f-]{36} - app\n$/);
  const secret = secretOf(token.stdout);

  const list = await cli(["acl", "token", "list", "-format", "json", "-token", ROOT]);
  const tokens = JSON.parse(list.stdout) as { Description: string }[];
  expect(tokens.map((t) => t.Description)).toContain("app token");
  expect(tokens.map((t) => t.Description)).toContain("Anonymous Token");
  const self = await cli(["acl", "token", "read", "-self", "-token", secret]);
  expect(self.stdout).toContain("Description:      app token");

  const consul = new Consul({ host: "127.0.0.1", port: agent.port, defaults: { token: secret } });
  await consul.kv.set("app/x", "hello");
  expect(((await consul.kv.get("app/x")) as { Value: string }).Value).toBe("hello");
  const err = await consul.kv.set("other/x", "no").catch((e: Error) => e);
  expect(err).toBeInstanceOf(Error);
  expect((err as { response?: { statusCode: number } }).response?.statusCode).toBe(403);
  // Its service registration is allowed for web (service:write) and refused for db.
  await consul.agent.service.register({ name: "web", port: 80 });
  const db = await consul.agent.service.register({ name: "db", port: 5432 }).catch((e: Error) => e);
  expect((db as { response?: { statusCode: number } }).response?.statusCode).toBe(403);
  // The agent's own anti-entropy (agent token) puts web in the catalog.
  await waitUntil(async () => Object.keys((await (await fetch(`${agent.base}/v1/catalog/services?token=${ROOT}`)).json()) as object).includes("web"), 10_000, "web in the catalog");
});

test("DNS answers only what the dns token may read; set-agent-token takes it from -token-file", async () => {
  await fetch(`${agent.base}/v1/catalog/register`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ Node: "db-node", Address: "10.9.9.9", Service: { Service: "db", Port: 5432 } }) });
  // Without a dns token DNS acts as anonymous: nothing is visible.
  expect(await digAt(dnsPort, "web.service.consul", "A")).toContain("status: NXDOMAIN");
  const policy = await cli(["acl", "policy", "create", "-name", "dns", "-rules", '{"service": {"web": {"policy": "read"}}, "node_prefix": {"": {"policy": "read"}}}', "-token", ROOT]);
  expect(policy.code).toBe(0);
  const token = await cli(["acl", "token", "create", "-policy-name", "dns", "-token", ROOT]);
  const file = join(agent.dir, "root.token");
  await writeFile(file, `${ROOT}\n`);
  const set = await cli(["acl", "set-agent-token", "-token-file", file, "dns", secretOf(token.stdout)]);
  expect(set).toEqual({ code: 0, stdout: 'ACL token "dns" set successfully\n', stderr: "" });
  await waitUntil(async () => (await digAt(dnsPort, "web.service.consul", "A")).includes("status: NOERROR"), 5_000, "web answered over DNS");
  expect(await digAt(dnsPort, "db.service.consul", "A")).toContain("status: NXDOMAIN");
  // The management token sees db over HTTP; the dns token's view hides it.
  expect(((await (await fetch(`${agent.base}/v1/catalog/service/db?token=${ROOT}`)).json()) as unknown[]).length).toBe(1);
});
