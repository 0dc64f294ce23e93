/**
 * The API gateway end to end: `consulate connect proxy -gateway=api -register`
 * under Bun and under Node (the CLI bundled as for npm), against a real
 * agent, in front of real sidecars. For each runtime: HTTPS with the
 * certificate of an inline-certificate entry (curl); `/api` -> api split
 * 50/50 over its v1/v2 subsets and `/` -> web; a JWT required on `/api`
 * (401 without, 200 with); a header filter and a URL rewrite seen by the
 * backend; retries hiding a flaky backend; the intention `<gateway> -> api
 * deny` answered 403; a route change taking effect within 2 s with no failed
 * request in a load loop across it.
 */
import { afterAll, expect, test } from "bun:test";
import { type ChildProcess, spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer as createHttpServer } from "node:http";
import { createServer as createTcpServer, type Socket } from "node:net";
import { request as httpsRequest } from "node:https";
import { type AddressInfo, connect as tcpConnect } from "node:net";
import { join } from "node:path";
import { Client } from "../../src/api/mod.ts";
import { lookupProxyIdForSidecar, SidecarProxy } from "../../gateways/sidecar/mod.ts";
import { bundleForNode } from "../connect/_scenario_runner.ts";
import { type AgentProcess, BUN, freePort, ROOT, startAgent, tempDir } from "../e2e/_agent.ts";
import { apigwFixture, type Fixture } from "./_apigw_fixture.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.race([c().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
});

const logs: string[] = [];
const logger = { debug() {}, info() {}, warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };

async function eventually<T>(what: string, ms: number, probe: () => Promise<T | null | false>, extra = () => ""): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe().catch(() => null);
    if (v !== null && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms\n${logs.slice(-5).join("\n")}\n${extra()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function proc(argv: string[]): { child: ChildProcess; output: () => string; exited: Promise<number | null> } {
  const child = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
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

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const timer = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.on("close", () => {
      clearTimeout(timer);
      resolve(out);
    });
  });
}

/** A client that misbehaves in the TLS handshake; `closedAfter` is set when the server hangs up. */
interface BadClient {
  readonly what: string;
  closedAfter: number | null;
}

const badClients: BadClient[] = [];

/**
 * idle: connects and says nothing; slow: a ClientHello record header promising 16 KiB, then a byte every
 * 500 ms; malformed: 5,000 bytes that are no TLS record; huge: a handshake record header then 64 KiB of junk.
 */
function badClient(port: number, who: string, kind: "idle" | "slow" | "malformed" | "huge"): void {
  const c: BadClient = { what: `${who} ${kind}`, closedAfter: null };
  badClients.push(c);
  const t0 = Date.now();
  let trickle: ReturnType<typeof setInterval> | undefined;
  const s = tcpConnect(port, "127.0.0.1", () => {
    if (kind === "malformed") s.write(new Uint8Array(5000).fill(0x41));
    if (kind === "huge") s.write(new Uint8Array([0x16, 0x03, 0x01, 0x40, 0x00, ...new Uint8Array(64 * 1024).fill(0xee)]));
    if (kind === "slow") {
      s.write(new Uint8Array([0x16, 0x03, 0x01, 0x40, 0x00, 0x01]));
      trickle = setInterval(() => s.write(new Uint8Array([0])), 500);
    }
  });
  s.on("error", () => {});
  s.on("data", () => {});
  s.once("close", () => {
    clearInterval(trickle);
    c.closedAfter = Date.now() - t0;
  });
  cleanups.push(async () => {
    clearInterval(trickle);
    s.destroy();
  });
}

/** One exchange over a tcp listener: what came back for `line`, "" when the connection closed without an answer. */
function tcpExchange(port: number, line: string): Promise<string> {
  return new Promise((resolve) => {
    let got = "";
    const s: Socket = tcpConnect(port, "127.0.0.1", () => s.write(line));
    const timer = setTimeout(() => s.destroy(), 5_000);
    s.on("data", (d) => {
      got += d;
      if (got.endsWith("\n")) s.end();
    });
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

interface Answer {
  status: number;
  text: string;
  json: Record<string, unknown> | null;
}

let fx: Fixture;

function call(port: number, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: "127.0.0.1", port, path, servername: fx.host, ca: fx.certPem, headers: { host: fx.host, ...headers }, agent: false, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => {
        let json: Record<string, unknown> | null = null;
        try {
          json = JSON.parse(text) as Record<string, unknown>;
        } catch {
          json = null;
        }
        resolve({ status: res.statusCode ?? 0, text, json });
      });
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end();
  });
}

test("API gateway on Bun and Node: TLS, split, JWT, filters, retries, intentions, live route change", async () => {
  const T0 = Date.now();
  const mark = (what: string) => process.env.APIGW_TIMING && console.log(`${what} ${Date.now() - T0}ms`);
  const agent: AgentProcess = await startAgent(["-dev"]);
  cleanups.push(() => agent.stop());
  const client = new Client({ address: `127.0.0.1:${agent.port}` });
  const dir = await tempDir("apigw-");
  cleanups.push(() => dir.remove());
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`${agent.base}${path}`, { method: "PUT", body: JSON.stringify(body) });
    expect({ path, status: res.status, text: res.status === 200 ? "" : await res.text() }).toEqual({ path, status: 200, text: "" });
  };

  // Backends, each behind its sidecar: two api instances (subsets v1, v2), web, and flaky (fails every other request).
  let flakyCalls = 0;
  const backend = async (id: string, name: string, meta: Record<string, string>, answer: (path: string, headers: Record<string, unknown>) => [number, unknown]) => {
    const app = createHttpServer((req, res) => {
      const [status, body] = answer(req.url ?? "", req.headers);
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    });
    await new Promise<void>((r) => app.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise((r) => app.close(r)));
    await put("/v1/agent/service/register", { ID: id, Name: name, Meta: meta, Port: (app.address() as AddressInfo).port, Connect: { SidecarService: { Port: await freePort() } } });
    const sidecar = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, id), agentAddress: "127.0.0.1" } });
    await sidecar.start();
    cleanups.push(() => sidecar.stop());
  };
  const echo = (svc: string, version: string) => (path: string, headers: Record<string, unknown>): [number, unknown] => [200, { svc, version, path, headers }];
  await backend("api-v1", "api", { version: "v1" }, echo("api", "v1"));
  await backend("api-v2", "api", { version: "v2" }, echo("api", "v2"));
  await backend("web", "web", {}, echo("web", ""));
  await backend("flaky", "flaky", {}, (path) => (++flakyCalls % 2 === 1 ? [503, { error: "flaky" }] : [200, { svc: "flaky", path }]));
  // A TCP service behind its sidecar for the gateways' tcp listeners: it echoes each line with a prefix.
  const echoTcp = createTcpServer((sock) => {
    sock.on("error", () => {});
    sock.on("data", (d) => sock.write(`echo:${d}`));
  });
  await new Promise<void>((r) => echoTcp.listen(0, "127.0.0.1", () => r()));
  cleanups.push(() => new Promise((r) => echoTcp.close(r)));
  await put("/v1/agent/service/register", { ID: "echo", Name: "echo", Port: (echoTcp.address() as AddressInfo).port, Connect: { SidecarService: { Port: await freePort() } } });
  const echoSidecar = new SidecarProxy({ client, logger, source: { kind: "registration", proxyId: await lookupProxyIdForSidecar(client, "echo"), agentAddress: "127.0.0.1" } });
  await echoSidecar.start();
  cleanups.push(() => echoSidecar.stop());

  mark('// Ports for the two gateways');
  // Ports for the two gateways' listeners (one api-gateway entry each: they run side by side).
  const ports = { "gw-bun": await freePort(), "gw-node": await freePort() };
  const tcpPorts = { "gw-bun": await freePort(), "gw-node": await freePort() };
  fx = await apigwFixture(dir.path, ports, tcpPorts);
  for (const e of fx.entries) await put("/v1/config", e);
  writeFileSync(join(dir.path, "ca.pem"), fx.certPem);

  mark('const { bundle, remove }');
  const { bundle, remove } = await bundleForNode(join(ROOT, "src/cli/main.ts"), "apigw-cli");
  cleanups.push(remove);
  const argv = (runtime: string[], name: string) => [...runtime, "connect", "proxy", "-gateway=api", "-register", "-service", name, "-address", `127.0.0.1:${ports[name as keyof typeof ports]}`, "-http-addr", `127.0.0.1:${agent.port}`];
  const relayPort = await freePort();
  const gws = {
    // The Bun gateway is also the edge's relay into the mesh, presenting gw-cert (DNS name gw.example.test).
    "gw-bun": proc([...argv([BUN, join(ROOT, "src/cli/main.ts")], "gw-bun"), "-edge-bind", `127.0.0.1:${relayPort}`, "-edge-certificate", "gw-cert"]),
    "gw-node": proc(argv(["node", bundle], "gw-node")),
  };

  mark('for (const [name, port] of Object.entries(ports)) {');
  for (const [name, port] of Object.entries(ports)) {
    const g = gws[name as keyof typeof gws];
    const svc = await eventually(`${name} registered`, 20_000, async () => {
      const res = await fetch(`${agent.base}/v1/agent/service/${name}`);
      return res.status === 200 ? ((await res.json()) as Record<string, unknown>) : null;
    }, g.output);
    expect(svc).toMatchObject({ Kind: "api-gateway", Service: name, Port: port });

    // HTTPS with the inline-certificate's certificate, checked by curl against its CA and name.
    let last = "";
    const curl = await eventually(`${name} serves / over TLS`, 20_000, async () => {
      last = await run("curl", ["-sS", "--cacert", join(dir.path, "ca.pem"), "--resolve", `${fx.host}:${port}:127.0.0.1`, `https://${fx.host}:${port}/hello`]);
      return last.includes('"svc":"web"') ? last : null;
    }, () => `${g.output()}\ncurl: ${last}`);
    expect(JSON.parse(curl)).toMatchObject({ svc: "web", path: "/hello" });
    // Clients that stall or garble the TLS handshake, left running while the rest of the test is served.
    for (const kind of ["idle", "slow", "malformed", "huge"] as const) {
      badClient(port, name, kind);
      if (name === "gw-bun") badClient(relayPort, "edge relay", kind);
    }

    // The tcp listener: a tcp-route to echo, over mutual TLS to its sidecar.
    const tcpPort = tcpPorts[name as keyof typeof tcpPorts];
    expect(await eventually(`${name} tcp listener reaches echo`, 15_000, async () => ((await tcpExchange(tcpPort, "ping\n")) === "echo:ping\n" ? true : null))).toBe(true);

  mark('// JWT: missing');
    // JWT: missing or forged -> 401; a valid one passes.
    const noJwt = await call(port, "/api/items");
    expect([noJwt.status, noJwt.text]).toEqual([401, "Jwt is missing"]);
    expect((await call(port, "/api/items", { authorization: `Bearer ${fx.forgedToken}` })).status).toBe(401);
    const auth = { authorization: `Bearer ${fx.token}` };
    const ok = await eventually(`${name} /api with a JWT`, 15_000, async () => {
      const r = await call(port, "/api/items?x=1", auth);
      return r.status === 200 ? r : null;
    });
    // Header filter and URL rewrite as the backend saw them; the token itself is not forwarded, its payload is.
    expect(ok.json).toMatchObject({ svc: "api", path: "/v2api/items?x=1" });
    const seen = ok.json!.headers as Record<string, string>;
    expect(seen["x-gateway"]).toBe("consulate");
    expect(seen.authorization).toBeUndefined();
    expect(JSON.parse(atob(seen["x-jwt-payload"]!.replaceAll("-", "+").replaceAll("_", "/")))).toMatchObject({ sub: "alice" });

  mark('// 50/50');
    // 50/50 over the two subsets, counted once the gateway reaches both (each has its own sidecar).
    await eventually(`${name} reaches both api subsets`, 15_000, async () => {
      const reached = new Set<string>();
      for (let i = 0; i < 10; i++) {
        const r = await call(port, "/api/split", auth);
        if (r.status !== 200) return null;
        reached.add((r.json as { version: string }).version);
      }
      return reached.size === 2 ? true : null;
    });
    const versions: Record<string, number> = { v1: 0, v2: 0 };
    for (let i = 0; i < 40; i++) {
      const r = await call(port, "/api/split", auth);
      expect(r.status).toBe(200);
      versions[(r.json as { version: string }).version]! += 1;
    }
    expect(versions.v1).toBeGreaterThan(8);
    expect(versions.v2).toBeGreaterThan(8);

  mark('// Retries hide');
    // Retries hide the flaky backend (it fails every other request).
    await eventually(`${name} reaches flaky`, 15_000, async () => (await call(port, "/flaky/x")).status === 200);
    const before = flakyCalls;
    for (let i = 0; i < 10; i++) expect((await call(port, "/flaky/x")).status).toBe(200);
    expect(flakyCalls - before).toBeGreaterThan(10);

  mark('// The intention');
    // The intention <gateway> -> api deny: the api sidecar refuses the gateway's identity.
    await put("/v1/connect/intentions/exact?source=" + name + "&destination=api", { Action: "deny" });
    const denied = await eventually(`${name} -> api denied`, 15_000, async () => {
      const r = await call(port, "/api/items", auth);
      return r.status === 403 ? r : null;
    });
    expect(denied.text).toBe("RBAC: access denied");
    await fetch(`${agent.base}/v1/connect/intentions/exact?source=${name}&destination=api`, { method: "DELETE" });
    // The same for the tcp listener: echo's sidecar closes the gateway's connection once the deny is in.
    await put("/v1/connect/intentions/exact?source=" + name + "&destination=echo", { Action: "deny" });
    await eventually(`${name} -> echo denied`, 15_000, async () => ((await tcpExchange(tcpPort, "ping\n")) === "" ? true : null));
    await fetch(`${agent.base}/v1/connect/intentions/exact?source=${name}&destination=echo`, { method: "DELETE" });
  }

  mark('// A route change under load');
  // A route change under load: sequential requests on both gateways, none may fail; the change shows within 2 s.
  const failures: string[] = [];
  const seenAt: Record<string, number> = {};
  let stop = false;
  let changedAt = 0;
  const loops = Object.entries(ports).map(async ([name, port]) => {
    let n = 0;
    while (!stop) {
      const r = await call(port, "/loop").catch((e: Error) => ({ status: 0, text: e.message, json: null }) as Answer);
      n++;
      if (r.status !== 200) failures.push(`${name}: ${r.status} ${r.text}`);
      else if ((r.json?.headers as Record<string, string>)["x-route-version"] === "2" && changedAt > 0 && !seenAt[name]) seenAt[name] = Date.now() - changedAt;
    }
    return n;
  });
  await new Promise((r) => setTimeout(r, 500));
  changedAt = Date.now();
  await put("/v1/config", fx.routeV2);
  await eventually("route change visible on both gateways", 5_000, async () => Object.keys(seenAt).length === 2);
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  const counts = await Promise.all(loops);
  expect(failures).toEqual([]);
  expect(counts.every((c) => c > 5)).toBe(true);
  expect(Math.max(...Object.values(seenAt))).toBeLessThan(2_000);

  mark('// SIGTERM: deregister');
  // The same routes at the edge: the bundle in workerd (from the npm package), relaying through gw-bun.
  const edgeDir = join(dir.path, "edge");
  const edgePort = await freePort();
  const bundled = await run(BUN, [join(ROOT, "src/cli/main.ts"), "api-gateway", "bundle", "-gateway", "gw-bun", "-target", "workerd", "-out", edgeDir, "-listen", `127.0.0.1:${edgePort}`, "-relay", `127.0.0.1:${relayPort}`, "-relay-host", fx.host, "-relay-certificate", "gw-cert", "-http-addr", `127.0.0.1:${agent.port}`]);
  expect(bundled).toContain("Wrote ");
  const worker = await Bun.file(join(edgeDir, "worker.mjs")).text();
  expect(worker).not.toMatch(/from\s+["']node:/);
  const workerd = proc([join(ROOT, "node_modules/.bin/workerd"), "serve", join(edgeDir, "config.capnp")]);
  let lastEdge = "";
  const edgeWeb = await eventually("workerd serves /", 20_000, async () => {
    const r = await call(edgePort, "/hello").catch((e: Error) => ({ status: 0, text: e.message, json: null }));
    lastEdge = `${r.status} ${r.text}`;
    return r.status === 200 ? r : null;
  }, () => `${workerd.output()}\nlast: ${lastEdge}\n${gws["gw-bun"].output().slice(-1500)}`);
  expect(edgeWeb.json).toMatchObject({ svc: "web", path: "/hello" });
  expect(await call(edgePort, "/api/items").then((r) => [r.status, r.text])).toEqual([401, "Jwt is missing"]);
  expect((await call(edgePort, "/api/items", { authorization: `Bearer ${fx.forgedToken}` })).status).toBe(401);
  const auth = { authorization: `Bearer ${fx.token}` };
  const edgeApi = await call(edgePort, "/api/items?x=1", auth);
  expect(edgeApi.status).toBe(200);
  expect(edgeApi.json).toMatchObject({ svc: "api", path: "/v2api/items?x=1", headers: { "x-gateway": "consulate" } });
  const edgeVersions: Record<string, number> = { v1: 0, v2: 0 };
  for (let i = 0; i < 40; i++) edgeVersions[((await call(edgePort, "/api/split", auth)).json as { version: string }).version]! += 1;
  expect(edgeVersions.v1).toBeGreaterThan(8);
  expect(edgeVersions.v2).toBeGreaterThan(8);
  await put("/v1/connect/intentions/exact?source=gw-bun&destination=api", { Action: "deny" });
  const edgeDenied = await eventually("edge -> api denied", 15_000, async () => {
    const r = await call(edgePort, "/api/items", auth);
    return r.status === 403 ? r : null;
  });
  expect(edgeDenied.text).toBe("RBAC: access denied");
  // The relay itself serves only the gateway's leaf: a client without it is refused.
  const stranger = await call(relayPort, "/hello");
  expect([stranger.status, stranger.text.startsWith("RBAC: access denied: ")]).toEqual([403, true]);

  // Every bad handshake was hung up on (a stalled one after the handshake deadline, ~10 s), while the rest was served.
  await eventually("bad handshakes closed", 30_000, async () => badClients.every((c) => c.closedAfter !== null));
  mark(`bad handshakes closed after (ms): ${badClients.map((c) => `${c.what} ${c.closedAfter}`).join(", ")}`);
  for (const c of badClients) if (c.what.endsWith("malformed") || c.what.endsWith("huge")) expect({ what: c.what, quick: c.closedAfter! < 8_000 }).toEqual({ what: c.what, quick: true });

  // SIGTERM: deregister and exit 0.
  for (const g of Object.values(gws)) g.child.kill("SIGTERM");
  for (const g of Object.values(gws)) expect(await g.exited).toBe(0);
}, 150_000);
