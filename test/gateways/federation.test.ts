/**
 * Mesh gateways on two real federated datacenters (examples/federation/run.sh
 * with dc1 and dc2), everything run as a user runs it (`consulate connect
 * proxy` processes against the servers' HTTP APIs):
 *   - web (dc1) reaches db (dc2) in mode local (web's sidecar -> dc1's gateway
 *     -> dc2's gateway -> db's sidecar) and in mode remote (-> dc2's gateway);
 *   - a tap on dc2's gateway's WAN address sees TLS, never the plaintext;
 *   - the intention `web -> db deny` written in dc1 blocks it, and deleting it
 *     lets it through again;
 *   - the gateways never ask their agent for a leaf (a relay in front of the
 *     agent records every path they request);
 *   - a service-resolver (written in dc1) with subsets v1/v2 of db: web's
 *     sidecar sends the subset in its SNI and dc2's gateway routes it to the
 *     instances the subset's Filter picks; an undefined subset is refused;
 *   - with every server of both datacenters stopped, an established
 *     connection and new connections keep going through both gateways for 60 s.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { createServer as createHttpServer, request as httpRequest, type Server as HttpServer } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { join } from "node:path";
import { BUN, freePort, ROOT } from "../e2e/_agent.ts";
import { type Federation, startFederation } from "../e2e/_federation.ts";
import { startTcpProxy, type TcpProxy } from "../_tcp_proxy.ts";
import { captureHello } from "./_hello.ts";

const SECRET = "plaintext-marker-5d21e0";
const OUTAGE_MS = 60_000;
let fed: Federation;
let h1 = "";
let h2 = "";
const procs: { name: string; child: ChildProcess; out: () => string }[] = [];
const closers: (() => Promise<unknown>)[] = [];
let app: HttpServer;
let appV2: HttpServer;
let gw2 = 0;
let tap: TcpProxy;
const tapped: Buffer[] = [];
const gw1Paths: string[] = [];
const gw2Paths: string[] = [];
let up = 0;
let adm1 = 0;
let adm2 = 0;

function consulate(name: string, args: string[]): void {
  const child = spawn(BUN, [join(ROOT, "src/cli/main.ts"), ...args], { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  procs.push({ name, child, out: () => out });
}

/** An HTTP relay in front of an agent that records the path of every request through it. */
async function recordingRelay(target: string, paths: string[]): Promise<string> {
  const [host, port] = target.split(":") as [string, string];
  const server = createHttpServer((req, res) => {
    paths.push(req.url ?? "");
    const up = httpRequest({ host, port: Number(port), method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    // An unreachable agent looks unreachable through the relay too.
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  closers.push(() => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  });
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function put(addr: string, path: string, body: unknown): Promise<void> {
  const r = await fetch(`http://${addr}${path}`, { method: "PUT", body: JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
  if (!r.ok) throw new Error(`PUT ${path}: ${r.status} ${await r.text()}`);
}

async function until<T>(what: string, fn: () => Promise<T | null | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== null && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(200);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}\n${tails()}`);
}

/** The last lines of every process this test started, for a failure's message. */
const tails = () => procs.map((p) => `--- ${p.name}\n${p.out().split("\n").slice(-12).join("\n")}`).join("\n");

/** A request on its own TCP connection (Connection: close), through web's upstream listener. */
function oneShot(port: number, timeoutMs = 4_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(port, "127.0.0.1");
    let text = "";
    const timer = setTimeout(() => s.destroy(new Error("timeout")), timeoutMs);
    s.on("connect", () => s.write(`POST /q HTTP/1.1\r\nHost: db\r\nConnection: close\r\nContent-Length: ${SECRET.length}\r\n\r\n${SECRET}`));
    s.on("data", (d: Buffer) => (text += d.toString()));
    s.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on("close", () => {
      clearTimeout(timer);
      if (/^HTTP\/1\.1 200/.test(text)) resolve(text.slice(text.indexOf("\r\n\r\n") + 4));
      else reject(new Error(`no 200: ${JSON.stringify(text.slice(0, 80))}`));
    });
  });
}

/** One TCP connection kept open for many requests (HTTP/1.1 keep-alive, fixed-length replies). */
class Persistent {
  private readonly s: Socket;
  private buf = "";
  private waiter: (() => void) | null = null;
  closed = false;
  constructor(port: number) {
    this.s = connect(port, "127.0.0.1");
    this.s.on("data", (d: Buffer) => {
      this.buf += d.toString();
      this.waiter?.();
    });
    this.s.on("error", () => {});
    this.s.on("close", () => {
      this.closed = true;
      this.waiter?.();
    });
  }
  async ask(timeoutMs = 4_000): Promise<string> {
    this.buf = "";
    this.s.write(`POST /q HTTP/1.1\r\nHost: db\r\nContent-Length: ${SECRET.length}\r\n\r\n${SECRET}`);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const head = this.buf.indexOf("\r\n\r\n");
      const len = /content-length: (\d+)/i.exec(this.buf);
      if (head >= 0 && len && this.buf.length >= head + 4 + Number(len[1])) return this.buf.slice(head + 4, head + 4 + Number(len[1]));
      if (this.closed) throw new Error(`the connection closed (read ${JSON.stringify(this.buf.slice(0, 80))})`);
      if (Date.now() > deadline) throw new Error("no reply in time");
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 100);
      });
    }
  }
  close(): void {
    this.s.destroy();
  }
}

async function routes(adminPort: number): Promise<Record<string, number>> {
  const text = await (await fetch(`http://127.0.0.1:${adminPort}/stats/prometheus`, { signal: AbortSignal.timeout(5_000) })).text();
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/_route_connections_total\{route="([^"]+)"\} (\d+)/g)) out[m[1]!] = Number(m[2]);
  return out;
}
/** Connections dc1's gateway sent to dc2, and dc2's gateway to db (any subset). */
async function counts(): Promise<{ dc1: number; dc2: number }> {
  const toDb = Object.entries(await routes(adm2)).filter(([r]) => r === "db" || r.endsWith(".db"));
  return { dc1: (await routes(adm1))["dc:dc2"] ?? 0, dc2: toDb.reduce((n, [, v]) => n + v, 0) };
}

const web = (mode: string) =>
  put(h1, "/v1/agent/service/register", {
    Name: "web",
    Port: 1,
    Connect: { SidecarService: { Check: { Name: "alias", AliasService: "web" }, Proxy: { Upstreams: [{ DestinationName: "db", Datacenter: "dc2", LocalBindPort: up, MeshGateway: { Mode: mode } }] } } },
  });

/** Waits until a new connection reaches db having passed `expectDc1` more times through dc1's gateway and once more through dc2's. */
async function reachesVia(expectDc1: 0 | 1): Promise<string> {
  return until(`web -> db with dc1's gateway ${expectDc1 ? "on" : "off"} the path`, async () => {
    const before = await counts();
    const body = await oneShot(up);
    const after = await counts();
    return after.dc2 === before.dc2 + 1 && after.dc1 === before.dc1 + expectDc1 ? body : null;
  });
}

beforeAll(async () => {
  fed = await startFederation({ datacenters: ["dc1", "dc2"] });
  h1 = fed.http.get("dc1")!;
  h2 = fed.http.get("dc2")!;
  const echo = async (name: string) => {
    const server = createHttpServer((req, res) => {
      let body = "";
      req.on("data", (c) => (body += c));
      req.on("end", () => res.end(`${name} in dc2 read ${body}`));
    });
    // The held connection of the outage test idles between requests longer than node's 5 s keep-alive default.
    server.keepAliveTimeout = 600_000;
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return server;
  };
  app = await echo("db");
  appV2 = await echo("db v2");
  const [gw1, wan1] = [await freePort(), await freePort()];
  gw2 = await freePort();
  [adm1, adm2, up] = [await freePort(), await freePort(), await freePort()];
  tap = await startTcpProxy(gw2, "127.0.0.1", (d) => tapped.push(d));

  await put(h2, "/v1/agent/service/register", { Name: "db", Port: (app.address() as AddressInfo).port, Meta: { version: "v1" }, Connect: { SidecarService: { Check: { Name: "alias", AliasService: "db" } } } });
  consulate("db-proxy", ["connect", "proxy", "-sidecar-for", "db", "-http-addr", h2]);
  // dc2's gateway is registered by hand so that other datacenters reach it through the tap on its WAN address.
  consulate("gw2", ["connect", "proxy", "-gateway=mesh", "-address", `127.0.0.1:${gw2}`, "-admin-bind", `127.0.0.1:${adm2}`, "-http-addr", await recordingRelay(h2, gw2Paths)]);
  await put(h2, "/v1/agent/service/register", {
    Kind: "mesh-gateway",
    Name: "mesh-gateway",
    Port: gw2,
    Address: "127.0.0.1",
    TaggedAddresses: { lan: { Address: "127.0.0.1", Port: gw2 }, wan: { Address: "127.0.0.1", Port: tap.port } },
    Check: { Name: "mesh-gateway listening", TCP: `127.0.0.1:${gw2}`, Interval: "10s" },
  });
  consulate("gw1", ["connect", "proxy", "-gateway=mesh", "-register", "-service", "mesh-gateway", "-address", `127.0.0.1:${gw1}`, "-wan-address", `127.0.0.1:${wan1}`, "-admin-bind", `127.0.0.1:${adm1}`, "-http-addr", await recordingRelay(h1, gw1Paths)]);
  await web("local");
  consulate("web-proxy", ["connect", "proxy", "-sidecar-for", "web", "-http-addr", h1]);
  for (const port of [adm1, adm2]) await until(`gateway admin :${port} ready`, async () => (await fetch(`http://127.0.0.1:${port}/ready`)).ok);
}, 300_000);

afterAll(async () => {
  for (const p of procs) p.child.kill("SIGTERM");
  await Promise.all(procs.map((p) => (p.child.exitCode !== null ? null : Promise.race([new Promise((r) => p.child.once("exit", r)), Bun.sleep(5_000).then(() => p.child.kill("SIGKILL"))]))));
  await tap?.close();
  for (const c of closers) await c().catch(() => {});
  for (const a of [app, appV2]) await new Promise((r) => a?.close(r));
  await fed?.down();
}, 90_000);

test("mode local: web -> dc1's gateway -> dc2's gateway -> db; the tap on dc2's WAN address carries no plaintext", async () => {
  expect(await reachesVia(1)).toBe(`db in dc2 read ${SECRET}`);
  const seen = Buffer.concat(tapped);
  expect(seen.length).toBeGreaterThan(500);
  expect(seen[0]).toBe(0x16);
  expect(seen.includes(SECRET)).toBe(false);
  expect(seen.includes("db in dc2")).toBe(false);
}, 60_000);

test("mode remote: web -> dc2's gateway -> db, dc1's gateway left out", async () => {
  await web("remote");
  expect(await reachesVia(0)).toBe(`db in dc2 read ${SECRET}`);
}, 60_000);

test("the intention web -> db deny written in dc1 blocks the path; deleting it opens it again", async () => {
  const r = await fetch(`http://${h1}/v1/connect/intentions/exact?source=web&destination=db`, { method: "PUT", body: JSON.stringify({ Action: "deny" }) });
  expect(r.status).toBe(200);
  await until("the deny to reach db's sidecar", async () => {
    try {
      await oneShot(up);
      return false;
    } catch {
      return true;
    }
  });
  // Still refused a moment later (not a blip).
  await Bun.sleep(500);
  await expect(oneShot(up)).rejects.toThrow();
  expect((await fetch(`http://${h1}/v1/connect/intentions/exact?source=web&destination=db`, { method: "DELETE" })).status).toBe(200);
  await until("db reachable again", () => oneShot(up));
}, 60_000);

test("the gateways asked their agents for catalog and roots, never for a leaf", () => {
  for (const paths of [gw1Paths, gw2Paths]) {
    expect(paths.some((p) => p.startsWith("/v1/agent/connect/ca/roots"))).toBe(true);
    expect(paths.some((p) => p.startsWith("/v1/health/"))).toBe(true);
    expect(paths.filter((p) => p.includes("/leaf"))).toEqual([]);
  }
});

test("resolver subsets: web's SNI names the subset and dc2's gateway routes it by the subset's Filter; an undefined subset is refused", async () => {
  await put(h2, "/v1/agent/service/register", {
    ID: "db-v2",
    Name: "db",
    Port: (appV2.address() as AddressInfo).port,
    Meta: { version: "v2" },
    Connect: { SidecarService: { Check: { Name: "alias", AliasService: "db-v2" } } },
  });
  consulate("db-v2-proxy", ["connect", "proxy", "-sidecar-for", "db-v2", "-http-addr", h2]);
  const resolver = (defaultSubset: string) =>
    put(h1, "/v1/config", { Kind: "service-resolver", Name: "db", DefaultSubset: defaultSubset, Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" } } });
  await web("local");
  for (const [subset, reply] of [["v2", `db v2 in dc2 read ${SECRET}`], ["v1", `db in dc2 read ${SECRET}`]] as const) {
    await resolver(subset);
    await until(`subset ${subset} answering`, async () => (await oneShot(up)) === reply);
    const before = (await routes(adm2))[`${subset}.db`] ?? 0;
    for (let i = 0; i < 6; i++) expect(await oneShot(up)).toBe(reply);
    expect((await routes(adm2))[`${subset}.db`]).toBe(before + 6);
  }
  const roots = (await (await fetch(`http://${h1}/v1/connect/ca/roots`)).json()) as { TrustDomain: string };
  const hello = await captureHello({ servername: `v9.db.default.dc2.internal.${roots.TrustDomain}` });
  const reply = await new Promise<number>((resolve) => {
    const s = connect(gw2, "127.0.0.1", () => s.write(hello));
    let n = 0;
    s.on("data", (d: Buffer) => (n += d.length));
    s.on("error", () => {});
    s.on("close", () => resolve(n));
  });
  expect(reply).toBe(0);
  expect((await (await fetch(`http://127.0.0.1:${adm2}/stats/prometheus`)).text())).toContain('consulate_mesh_gateway_refused_total{reason="unknown_subset"} 1');
}, 90_000);

test("with every server of dc1 and dc2 stopped, established and new connections keep going through both gateways for 60 s", async () => {
  await web("local");
  await reachesVia(1);
  const held = new Persistent(up);
  expect(await held.ask()).toBe(`db in dc2 read ${SECRET}`);
  const before = await counts();
  await fed.run("stop", "dc1");
  await fed.run("stop", "dc2");
  await expect(fetch(`http://${h1}/v1/status/leader`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  await expect(fetch(`http://${h2}/v1/status/leader`, { signal: AbortSignal.timeout(2_000) })).rejects.toThrow();
  const t0 = Date.now();
  let rounds = 0;
  while (Date.now() - t0 < OUTAGE_MS) {
    const replies = await Promise.all([held.ask(), oneShot(up)].map((p) => p.catch((err: Error) => `${err.message} after ${Date.now() - t0} ms\n${tails()}`)));
    expect(replies).toEqual([`db in dc2 read ${SECRET}`, `db in dc2 read ${SECRET}`]);
    rounds++;
    await Bun.sleep(4_000);
  }
  expect(await held.ask()).toBe(`db in dc2 read ${SECRET}`);
  held.close();
  const after = await counts();
  console.log(`${rounds} rounds over ${((Date.now() - t0) / 1000).toFixed(0)} s with no server up; routed by dc1's gateway ${after.dc1 - before.dc1}, by dc2's ${after.dc2 - before.dc2}`);
  expect(after.dc1 - before.dc1).toBeGreaterThanOrEqual(rounds);
  expect(after.dc2 - before.dc2).toBeGreaterThanOrEqual(rounds);
}, 120_000);
