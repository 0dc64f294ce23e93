/**
 * ACLs end to end on a dev agent with default_policy deny: the CLI (policy,
 * token, set-agent-token, -token, -token-file), the npm `consul` client and
 * python-consul (Debian's python3-consul) with a token, DNS answering only
 * what the dns token may read, and a sidecar that gets its leaf and config
 * with a service token and is refused without it.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import Consul from "consul";
import { spawn, spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { connect as netConnect } from "node:net";
import { join } from "node:path";
import { connect as tlsConnect } from "node:tls";
import { runCliProcess } from "../api/harness.ts";
import { digAt } from "../dns/_dig.ts";
import { type AgentProcess, BUN, freePort, ROOT as REPO, startAgent } from "./_agent.ts";
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

test("CLI: auth-method and binding-rule create/list/read/delete, login with a JWT to a token sink, logout", async () => {
  const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = Buffer.from(await crypto.subtle.exportKey("spki", keys.publicKey)).toString("base64");
  const pem = `-----BEGIN PUBLIC KEY-----\n${spki.match(/.{1,64}/g)!.join("\n")}\n-----END PUBLIC KEY-----\n`;
  const cfgFile = join(agent.dir, "jwt.json");
  await writeFile(cfgFile, JSON.stringify({ JWTValidationPubKeys: [pem], BoundAudiences: ["consul"], ClaimMappings: { service: "svc" } }));
  const m = await cli(["acl", "auth-method", "create", "-type", "jwt", "-name", "ci-jwt", "-description", "from CI", "-max-token-ttl", "5m", "-config", `@${cfgFile}`, "-token", ROOT]);
  expect(m.stderr).toBe("");
  expect(m.stdout).toMatch(/^Name:\s+ci-jwt\nType:\s+jwt\nDescription:\s+from CI\nMaxTokenTTL:\s+5m0s\nConfig:\n\{\n {2}"JWTValidationPubKeys"/);
  expect((await cli(["acl", "auth-method", "list", "-token", ROOT])).stdout).toBe("ci-jwt:\n   Type:         jwt\n   Description:  from CI\n");
  expect((await cli(["acl", "auth-method", "read", "-name", "ci-jwt", "-format", "json", "-token", ROOT])).stdout).toContain('"BoundAudiences"');

  const rule = await cli(["acl", "binding-rule", "create", "-method", "ci-jwt", "-bind-type", "service", "-bind-name", "${value.svc}", "-selector", "value.svc != \"\"", "-token", ROOT]);
  expect(rule.stderr).toBe("");
  const ruleId = rule.stdout.match(/^ID:\s+(\S+)$/m)![1]!;
  expect(rule.stdout).toContain("BindName:     ${value.svc}");
  expect((await cli(["acl", "binding-rule", "list", "-method", "ci-jwt", "-token", ROOT])).stdout).toStartWith(`${ruleId}:\n   AuthMethod:   ci-jwt\n`);
  const badRule = await cli(["acl", "binding-rule", "create", "-method", "ci-jwt", "-bind-type", "service", "-bind-name", "${value.nope}", "-token", ROOT]);
  expect(badRule.code).toBe(1);
  expect(badRule.stderr).toContain("Failed to create new binding rule: Unexpected response code: 400 (Invalid Binding Rule: invalid BindName");

  const enc = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const t = Math.floor(Date.now() / 1000);
  const input = `${enc({ alg: "ES256", typ: "JWT" })}.${enc({ aud: "consul", service: "web", iat: t, exp: t + 120 })}`;
  const sig = Buffer.from(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, keys.privateKey, new TextEncoder().encode(input))).toString("base64url");
  const bearerFile = join(agent.dir, "bearer.jwt");
  const sink = join(agent.dir, "token.sink");
  await writeFile(bearerFile, `${input}.${sig}\n`);
  const login = await cli(["login", "-method", "ci-jwt", "-bearer-token-file", bearerFile, "-token-sink-file", sink, "-meta", "host=ci"]);
  expect(login.stderr).toBe("");
  expect(login.code).toBe(0);
  const secret = (await Bun.file(sink).text()).trim();
  const self = await cli(["acl", "token", "read", "-self", "-format", "json", "-token", secret]);
  expect(JSON.parse(self.stdout)).toMatchObject({ AuthMethod: "ci-jwt", Local: true, Description: 'token created via login: {"host":"ci"}', ServiceIdentities: [{ ServiceName: "web" }] });
  // The web service identity may register web.
  expect((await fetch(`${agent.base}/v1/agent/service/register`, { method: "PUT", headers: { "X-Consul-Token": secret }, body: JSON.stringify({ Name: "web", Port: 81 }) })).status).toBe(200);
  const badLogin = await cli(["login", "-method", "ci-jwt", "-bearer-token-file", cfgFile, "-token-sink-file", sink]);
  expect(badLogin.code).toBe(1);
  expect(badLogin.stderr).toContain("Error logging in: Unexpected response code: 400 (error parsing token");

  const notLogin = await cli(["logout", "-token", ROOT]);
  expect(notLogin.code).toBe(1);
  expect(notLogin.stderr).toContain("Error destroying token: Unexpected response code: 403 (Permission denied)");
  expect((await cli(["logout", "-token", secret])).code).toBe(0);
  expect((await cli(["acl", "token", "read", "-self", "-token", secret])).code).toBe(1);

  expect((await cli(["acl", "binding-rule", "delete", "-id", ruleId, "-token", ROOT])).stdout).toBe(`Binding rule "${ruleId}" deleted successfully\n`);
  expect((await cli(["acl", "auth-method", "delete", "-name", "ci-jwt", "-token", ROOT])).stdout).toBe('Auth-method "ci-jwt" deleted successfully\n');
  expect((await cli(["acl", "auth-method", "list", "-token", ROOT])).stdout).toBe("");
});

test("python-consul with a token (its token option): writes under its prefix, refused elsewhere", async () => {
  const policy = await (await fetch(`${agent.base}/v1/acl/policy`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ Name: "py", Rules: 'key_prefix "py/" { policy = "write" }' }) })).json();
  const token = await (await fetch(`${agent.base}/v1/acl/token`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ Policies: [{ ID: policy.ID }] }) })).json();
  const script = [
    "import consul, sys",
    "c = consul.Consul(host='127.0.0.1', port=int(sys.argv[1]), token=sys.argv[2])",
    "print('put', c.kv.put('py/x', 'from python'))",
    "print('get', c.kv.get('py/x')[1]['Value'].decode())",
    "try:",
    "    c.kv.put('other/x', 'no')",
    "    print('other allowed')",
    "except consul.ACLPermissionDenied as e:",
    "    print('other denied')",
    "anon = consul.Consul(host='127.0.0.1', port=int(sys.argv[1]))",
    "try:",
    "    anon.kv.put('py/y', 'no')",
    "    print('anonymous allowed')",
    "except consul.ACLPermissionDenied:",
    "    print('anonymous denied')",
  ].join("\n");
  // Debian's interpreter, where python3-consul is installed (.ci/install).
  const r = spawnSync("/usr/bin/python3", ["-c", script, String(agent.port), token.SecretID], { encoding: "utf8", timeout: 20_000 });
  expect(r.stderr).toBe("");
  expect(r.stdout).toBe("put True\nget from python\nother denied\nanonymous denied\n");
  const kv = await (await fetch(`${agent.base}/v1/kv/py/x?raw&token=${ROOT}`)).text();
  expect(kv).toBe("from python");
});

test("a sidecar with a service token gets its leaf and config; without it, it is refused", async () => {
  const pub = await freePort();
  const reg = await fetch(`${agent.base}/v1/agent/service/register`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ Name: "pay", Port: 9100, Connect: { SidecarService: { Port: pub } } }) });
  expect(reg.status).toBe(200);
  const svc = await (await fetch(`${agent.base}/v1/acl/token`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ ServiceIdentities: [{ ServiceName: "pay" }] }) })).json();
  const other = await (await fetch(`${agent.base}/v1/acl/token`, { method: "PUT", headers: { "X-Consul-Token": ROOT }, body: JSON.stringify({ ServiceIdentities: [{ ServiceName: "shop" }] }) })).json();

  // What the sidecar asks the agent for, by hand: leaf and registration with the service token; refused without.
  const leaf = await fetch(`${agent.base}/v1/agent/connect/ca/leaf/pay`, { headers: { "X-Consul-Token": svc.SecretID } });
  expect(leaf.status).toBe(200);
  expect(((await leaf.json()) as { ServiceURI: string }).ServiceURI).toEndWith("/svc/pay");
  expect((await fetch(`${agent.base}/v1/agent/service/pay-sidecar-proxy`, { headers: { "X-Consul-Token": svc.SecretID } })).status).toBe(200);
  expect((await fetch(`${agent.base}/v1/agent/connect/ca/leaf/pay`)).status).toBe(403);
  expect((await fetch(`${agent.base}/v1/agent/connect/ca/leaf/pay`, { headers: { "X-Consul-Token": other.SecretID } })).status).toBe(403);
  // Any service identity may read every registration (service_prefix "" read), but not write for another service.
  expect((await fetch(`${agent.base}/v1/agent/service/pay-sidecar-proxy`)).status).toBe(403);

  const proxy = (args: string[]) => {
    const child = spawn(BUN, [join(REPO, "src/cli/main.ts"), "connect", "proxy", "-http-addr", `127.0.0.1:${agent.port}`, ...args], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout!.on("data", (d) => (out += d));
    child.stderr!.on("data", (d) => (out += d));
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    return { child, output: () => out, exited };
  };
  const listening = (port: number) =>
    new Promise<boolean>((resolve) => {
      const sock = netConnect(port, "127.0.0.1");
      sock.once("connect", () => (sock.destroy(), resolve(true)));
      sock.once("error", () => resolve(false));
    });

  // Without a token the agent hides the registration and refuses the leaf: the proxy stops with the reason.
  const refused = proxy(["-proxy-id", "pay-sidecar-proxy"]);
  try {
    await waitUntil(() => refused.child.exitCode !== null || refused.output().includes("403"), 15_000, "the refusal");
    expect(refused.output()).toContain("Permission denied");
    expect(await listening(pub)).toBe(false);
  } finally {
    if (refused.child.exitCode === null) refused.child.kill("SIGKILL");
    await refused.exited;
  }

  const ok = proxy(["-sidecar-for", "pay", "-token", svc.SecretID]);
  try {
    await waitUntil(() => listening(pub), 15_000, "the sidecar's public listener");
    // The public listener presents pay's leaf (got with the service token); it refuses connections until the leaf is in.
    const peerSan = () =>
      new Promise<string>((resolve) => {
        const sock = tlsConnect({ host: "127.0.0.1", port: pub, rejectUnauthorized: false }, () => {
          const cert = sock.getPeerCertificate();
          sock.destroy();
          resolve(cert.subjectaltname ?? "");
        });
        sock.once("error", () => resolve(""));
      });
    let san = "";
    await waitUntil(async () => (san = await peerSan()) !== "", 10_000, "a TLS handshake with the sidecar");
    expect(san).toMatch(/^URI:spiffe:\/\/[^/]+\/ns\/default\/dc\/dc1\/svc\/pay$/);
    expect(ok.output()).toContain("Proxy ID: pay-sidecar-proxy");
  } finally {
    ok.child.kill("SIGTERM");
    await ok.exited;
  }
}, 40_000);
