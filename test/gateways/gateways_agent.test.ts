/**
 * Both gateways as `consulate connect proxy -gateway=...` processes against a
 * real agent, in one scenario:
 *   - the mesh gateway registers (kind, lan/wan tagged addresses, TCP check);
 *     `openssl s_client -servername` through it gets db's sidecar certificate
 *     for db's SNI and nothing for an unknown service or another trust domain;
 *     refusals show in its Prometheus metrics; SIGTERM drains and deregisters;
 *   - the terminating gateway carries web (through web's sidecar) to an
 *     external HTTPS service registered with /v1/catalog/register, answers
 *     an L7-denied path 403, and shows up in /v1/health/connect and .connect DNS.
 */
import { afterAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer as createHttpServer, request } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Client } from "../../src/api/mod.ts";
import { lookupProxyIdForSidecar, SidecarProxy } from "../../gateways/sidecar/mod.ts";
import { makeCa, makeLeaf } from "../connect/_certs.ts";
import { type AgentProcess, BUN, freePort, ROOT, startAgent, tempDir } from "../e2e/_agent.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.race([c().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
});

const logs: string[] = [];
const logger = { debug() {}, info() {}, warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };

async function eventually<T>(what: string, ms: number, probe: () => Promise<T | null | false>): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms\n${logs.slice(-5).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function gatewayProcess(agent: AgentProcess, args: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(BUN, [join(ROOT, "src/cli/main.ts"), "connect", "proxy", ...args, "-http-addr", `127.0.0.1:${agent.port}`], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill("SIGKILL");
    await exited;
  });
  return { child, output: () => out, exited };
}

function get(port: number, path: string): Promise<{ status: number; text: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 3000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", (e) => resolve({ error: e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

/** Runs a command without blocking this process (the sidecars under test live in it); resolves with its stdout. */
function run(cmd: string, args: string[], input = ""): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["pipe", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
    p.stdin.end(input);
  });
}

/** The subjectAltName of the certificate `openssl s_client` gets through `port` for `sni`, or "" when the connection is dropped. */
async function peerSan(port: number, sni: string): Promise<string> {
  const out = await run("openssl", ["s_client", "-connect", `127.0.0.1:${port}`, "-servername", sni]);
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  if (!pem) return "";
  return run("openssl", ["x509", "-noout", "-ext", "subjectAltName"], pem);
}

test("mesh and terminating gateways against a real agent", async () => {
  const dnsPort = await freePort();
  const agent = await startAgent(["-dev", "-dns-port", String(dnsPort)]);
  cleanups.push(() => agent.stop());
  const client = new Client({ address: `127.0.0.1:${agent.port}` });
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`${agent.base}${path}`, { method: "PUT", body: JSON.stringify(body) });
    expect({ path, status: res.status, text: res.status === 200 ? "" : await res.text() }).toEqual({ path, status: 200, text: "" });
  };
  const td = ((await (await fetch(`${agent.base}/v1/agent/connect/ca/roots`)).json()) as { TrustDomain: string }).TrustDomain;

  // db behind its sidecar.
  const app = createHttpServer((req, res) => res.end(`db ${req.url}`));
  await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise((r) => app.close(r)));
  await put("/v1/agent/service/register", { Name: "db", Port: (app.address() as AddressInfo).port, Connect: { SidecarService: { Port: await freePort(), Check: { Name: "alias", AliasService: "db" } } } });
  const dbProxy = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, "db"), agentAddress: "127.0.0.1" } });
  await dbProxy.start();
  cleanups.push(() => dbProxy.stop());
  await dbProxy.whenServing();

  // The mesh gateway.
  const [lan, wan, admin] = [await freePort(), await freePort(), await freePort()];
  const mgw = gatewayProcess(agent, ["-gateway=mesh", "-register", "-service", "mesh-gateway", "-address", `127.0.0.1:${lan}`, "-wan-address", `127.0.0.1:${wan}`, "-admin-bind", `127.0.0.1:${admin}`]);
  const svc = await eventually("mesh gateway registered", 30_000, async () => {
    const res = await fetch(`${agent.base}/v1/agent/service/mesh-gateway`);
    return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
  });
  expect(svc).toMatchObject({
    Kind: "mesh-gateway",
    Service: "mesh-gateway",
    Address: "127.0.0.1",
    Port: lan,
    TaggedAddresses: { lan: { Address: "127.0.0.1", Port: lan }, wan: { Address: "127.0.0.1", Port: wan } },
  });
  const checks = (await (await fetch(`${agent.base}/v1/agent/checks`)).json()) as Record<string, { Name: string; ServiceID: string }>;
  expect(Object.values(checks).some((c) => c.ServiceID === "mesh-gateway" && c.Name === "mesh-gateway listening")).toBe(true);
  await eventually("gateway ready", 10_000, async () => (await fetch(`http://127.0.0.1:${admin}/ready`)).status === 200);

  const dbSni = `db.default.dc1.internal.${td}`;
  const san = await eventually("db certificate through the gateway", 10_000, async () => (await peerSan(lan, dbSni)) || null).catch((e) => {
    throw new Error(`${e.message}\n${mgw.output()}`);
  });
  expect(san).toContain(`URI:spiffe://${td}/ns/default/dc/dc1/svc/db`);
  expect(await peerSan(wan, dbSni)).toContain("/svc/db");
  expect(await peerSan(lan, `nope.default.dc1.internal.${td}`)).toBe("");
  expect(await peerSan(lan, "db.default.dc1.internal.99999999-0000-0000-0000-000000000000.consul")).toBe("");
  const metrics = await (await fetch(`http://127.0.0.1:${admin}/stats/prometheus`)).text();
  expect(metrics).toContain('consulate_mesh_gateway_refused_total{reason="unknown_service"} 1');
  expect(metrics).toContain('consulate_mesh_gateway_refused_total{reason="trust_domain"} 1');
  expect(metrics).toMatch(/consulate_mesh_gateway_route_connections_total\{route="db"\} [2-9]/);

  // The terminating gateway in front of an external HTTPS service.
  const dir = await tempDir("tgw-");
  cleanups.push(() => dir.remove());
  const extCa = await makeCa("External CA");
  const extLeaf = await makeLeaf(extCa, "ext");
  writeFileSync(join(dir.path, "ca.pem"), extCa.pem);
  const ext = createHttpsServer({ cert: extLeaf.certPem, key: extLeaf.keyPem }, (req, res) => {
    const sni = (req.socket as unknown as { servername?: string }).servername;
    res.end(`ext ${req.method} ${req.url} sni=${sni}`);
  });
  await new Promise<void>((r) => ext.listen(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise((r) => ext.close(r)));
  await put("/v1/catalog/register", { Node: "external", Address: "127.0.0.1", NodeMeta: { "external-node": "true" }, Service: { Service: "ext", Port: (ext.address() as AddressInfo).port } });
  await put("/v1/config", { Kind: "terminating-gateway", Name: "terminating-gateway", Services: [{ Name: "ext", CAFile: join(dir.path, "ca.pem"), SNI: "ext.example" }] });
  await put("/v1/config", { Kind: "service-defaults", Name: "ext", Protocol: "http" });
  await put("/v1/config", {
    Kind: "service-intentions",
    Name: "ext",
    Sources: [{ Name: "web", Permissions: [{ Action: "deny", HTTP: { PathPrefix: "/admin" } }, { Action: "allow", HTTP: { PathPrefix: "/" } }] }],
  });
  const tgwPort = await freePort();
  const tgw = gatewayProcess(agent, ["-gateway=terminating", "-register", "-service", "terminating-gateway", "-address", `127.0.0.1:${tgwPort}`]);
  const up = await freePort();
  await put("/v1/agent/service/register", { Name: "web", Port: 1, Connect: { SidecarService: { Port: await freePort(), Proxy: { Upstreams: [{ DestinationName: "ext", LocalBindPort: up }] } } } });
  const webProxy = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, "web"), agentAddress: "127.0.0.1" } });
  await webProxy.start();
  cleanups.push(() => webProxy.stop());

  const hc = await eventually("the terminating gateway in /v1/health/connect/ext", 30_000, async () => {
    const rows = (await (await fetch(`${agent.base}/v1/health/connect/ext?passing=1`)).json()) as { Service: { Kind: string; Port: number } }[];
    return rows.length > 0 ? rows : null;
  });
  expect(hc.map((r) => [r.Service.Kind, r.Service.Port])).toEqual([["terminating-gateway", tgwPort]]);
  const ok = await eventually("web reaches ext through the terminating gateway", 15_000, async () => {
    const r = await get(up, "/hello");
    return "status" in r && r.status === 200 ? r : null;
  });
  expect(ok.text).toBe("ext GET /hello sni=ext.example");
  expect(await get(up, "/admin/users")).toEqual({ status: 403, text: "RBAC: access denied" });
  expect(await run("dig", ["@127.0.0.1", "-p", String(dnsPort), "+short", "SRV", "ext.connect.consul"])).toContain(` ${tgwPort} `);

  // SIGTERM: both drain, deregister and exit 0.
  mgw.child.kill("SIGTERM");
  tgw.child.kill("SIGTERM");
  expect(await mgw.exited).toBe(0);
  expect(await tgw.exited).toBe(0);
  expect(mgw.output()).toContain("==> Consul Connect proxy shutdown");
  const after = (await (await fetch(`${agent.base}/v1/agent/services`)).json()) as Record<string, unknown>;
  expect(Object.keys(after)).not.toContain("mesh-gateway");
  expect(Object.keys(after)).not.toContain("terminating-gateway");
}, 120_000);
