/**
 * The mesh gateway's data path against a stand-in control plane: SNI routing
 * to local sidecars and to another datacenter's gateways (its WAN address),
 * bytes passed through untouched with half-close and back-pressure,
 * refusals by reason, the connection cap, the last good table while the
 * control plane is down, and the drain.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { Client } from "../../src/api/mod.ts";
import { MeshGateway } from "../../gateways/mesh_gateway/mod.ts";
import { FakeControlPlane } from "../connect/_control_plane.ts";
import { TRUST_DOMAIN } from "../connect/_certs.ts";
import { captureHello } from "./_hello.ts";

const logs: string[] = [];
const logger = { debug() {}, info() {}, warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };

interface Backend {
  server: Server;
  port: number;
  /** Bytes each connection sent, in order of connections. */
  received: Buffer[][];
  sockets: Socket[];
}

/** A stand-in for a sidecar: keeps what it receives and, on the client's half-close, answers with a count and closes. */
async function backend(name: string, opts: { paused?: boolean } = {}): Promise<Backend> {
  const b: Backend = { server: null as unknown as Server, port: 0, received: [], sockets: [] };
  b.server = createServer({ allowHalfOpen: true }, (s) => {
    const mine: Buffer[] = [];
    b.received.push(mine);
    b.sockets.push(s);
    if (opts.paused) s.pause();
    s.on("data", (c: Buffer) => mine.push(c));
    s.on("end", () => s.end(`${name} got ${mine.reduce((n, c) => n + c.length, 0)}`));
    s.on("error", () => {});
  });
  await new Promise<void>((r) => b.server.listen(0, "127.0.0.1", () => r()));
  b.port = (b.server.address() as AddressInfo).port;
  return b;
}

/** Sends `bytes`, half-closes, and collects what comes back until the gateway closes. */
function exchange(port: number, bytes: Uint8Array[], gapMs = 0): Promise<{ reply: string; closed: boolean }> {
  return new Promise((resolve) => {
    const s = connect(port, "127.0.0.1");
    let reply = "";
    s.on("data", (c) => (reply += c));
    s.on("error", () => {});
    s.on("close", () => resolve({ reply, closed: true }));
    s.on("connect", async () => {
      for (const b of bytes) {
        if (s.destroyed) return;
        s.write(b);
        if (gapMs) await new Promise((r) => setTimeout(r, gapMs));
      }
      if (!s.destroyed) s.end();
    });
  });
}

const sni = (svc: string, dc = "dc1", td = TRUST_DOMAIN) => `${svc}.default.${dc}.internal.${td}`;

let cp: FakeControlPlane;
let cp2: FakeControlPlane;
let db: Backend;
let dc2gw: Backend;
let gw: MeshGateway;
let port: number;

beforeAll(async () => {
  cp = await FakeControlPlane.start();
  cp2 = await FakeControlPlane.start({ datacenter: "dc2", ca: cp.ca });
  cp.peers.set("dc2", cp2);
  db = await backend("db");
  dc2gw = await backend("dc2-gateway");
  cp.instances.set("db", [{ address: "127.0.0.1", port: db.port, id: "db-sidecar-proxy" }]);
  cp.instances.set("idle", []);
  // dc2's gateway is advertised on a LAN address nobody listens on: routing to it must use its WAN address.
  cp2.gateways.set("mesh-gateway", [{ id: "mgw", lan: { address: "127.0.0.1", port: 1 }, wan: { address: "127.0.0.1", port: dc2gw.port } }]);
  gw = new MeshGateway({ client: new Client({ address: cp.address }), datacenter: "dc1", binds: [{ host: "127.0.0.1", port: 0 }], maxConnections: 4, helloTimeoutMs: 400, logger });
  await gw.start();
  port = gw.ports[0]!;
  for (let i = 0; i < 100 && !(gw.ready && gw.catalog.table()?.remote("dc2")?.length); i++) await new Promise((r) => setTimeout(r, 50));
  expect(gw.ready).toBe(true);
});

afterAll(async () => {
  await gw.drain(0);
  for (const b of [db, dc2gw]) {
    for (const s of b.sockets) s.destroy();
    await new Promise((r) => b.server.close(r));
  }
  await cp.stop();
  await cp2.stop();
});

test("a known SNI reaches the service's sidecar with every byte intact, and the half-close comes back through", async () => {
  const hello = await captureHello({ servername: sni("db"), ALPNProtocols: ["h2"] });
  const tail = new TextEncoder().encode("opaque application bytes");
  const before = db.received.length;
  const r = await exchange(port, [hello, tail]);
  expect(r.reply).toBe(`db got ${hello.length + tail.length}`);
  expect(Buffer.concat(db.received[before]!)).toEqual(Buffer.concat([hello, tail]));
});

test("a hello trickling in a few bytes per segment is still routed", async () => {
  const hello = await captureHello({ servername: sni("db") });
  const parts: Uint8Array[] = [];
  for (let i = 0; i < hello.length; i += 97) parts.push(hello.subarray(i, i + 97));
  const r = await exchange(port, parts, 2);
  expect(r.reply).toBe(`db got ${hello.length}`);
});

test("another datacenter's SNI goes to that datacenter's gateway on its WAN address", async () => {
  const hello = await captureHello({ servername: sni("anything", "dc2") });
  expect((await exchange(port, [hello])).reply).toBe(`dc2-gateway got ${hello.length}`);
});

test("resolver subsets: a subset SNI reaches the instances its Filter picks (warning ones unless OnlyPassing); an undefined subset is refused", async () => {
  const v1 = await backend("api-v1");
  const v2 = await backend("api-v2");
  cp.instances.set("api", [
    { address: "127.0.0.1", port: v1.port, id: "api-1", meta: { version: "v1" } },
    { address: "127.0.0.1", port: v2.port, id: "api-2", meta: { version: "v2" }, status: "warning" },
  ]);
  cp.entries.set("service-resolver/api", {
    Kind: "service-resolver",
    Name: "api",
    Subsets: { v1: { Filter: "Service.Meta.version == v1" }, v2: { Filter: "Service.Meta.version == v2" }, strict: { Filter: "Service.Meta.version == v2", OnlyPassing: true } },
  });
  cp.bump();
  for (let i = 0; i < 100 && !gw.catalog.table()?.subset("api", "v2")?.length; i++) await new Promise((r) => setTimeout(r, 20));
  for (const [subset, who] of [["v1", "api-v1"], ["v2", "api-v2"], ["V2", "api-v2"]] as const) {
    const hello = await captureHello({ servername: sni(`${subset}.api`) });
    expect((await exchange(port, [hello])).reply).toBe(`${who} got ${hello.length}`);
  }
  expect(gw.metrics.byRoute.get("v2.api")).toBe(2);
  // The unnamed service keeps its passing instances only.
  expect(gw.catalog.table()?.local("api")?.map((e) => e.id)).toEqual(["api-1"]);
  for (const [subset, reason] of [["strict", "no_healthy_endpoint"], ["v9", "unknown_subset"]] as const) {
    const before = gw.metrics.refused.get(reason);
    expect((await exchange(port, [await captureHello({ servername: sni(`${subset}.api`) })])).reply).toBe("");
    expect(gw.metrics.refused.get(reason)).toBe(before + 1);
  }
  // The resolver goes away: so do its subsets.
  cp.entries.delete("service-resolver/api");
  cp.bump();
  for (let i = 0; i < 100 && gw.catalog.table()?.subset("api", "v1") !== undefined; i++) await new Promise((r) => setTimeout(r, 20));
  expect((await exchange(port, [await captureHello({ servername: sni("v1.api") })])).reply).toBe("");
  expect(gw.metrics.refused.get("unknown_subset")).toBe(2);
  for (const b of [v1, v2]) await new Promise((r) => b.server.close(r));
});

test("unknown services, other trust domains, unknown datacenters, plaintext, garbage, truncated and slow hellos are dropped and counted", async () => {
  const cases: [string, Uint8Array[], number?][] = [
    ["unknown_service", [await captureHello({ servername: sni("nope") })]],
    ["no_healthy_endpoint", [await captureHello({ servername: sni("idle") })]],
    ["trust_domain", [await captureHello({ servername: sni("db", "dc1", "22222222-0000-0000-0000-000000000000.consul") })]],
    ["unknown_datacenter", [await captureHello({ servername: sni("db", "dc9") })]],
    ["not_mesh", [await captureHello({ servername: "www.example.com" })]],
    ["no_sni", [await captureHello({ servername: "" })]],
    ["not_tls", [new TextEncoder().encode("GET / HTTP/1.1\r\nHost: db\r\n\r\n")]],
    ["malformed_hello", [new Uint8Array([0x16, 3, 1, 0, 4, 2, 0, 0, 0])]],
  ];
  for (const [reason, bytes] of cases) {
    const before = db.received.length;
    const r = await exchange(port, bytes);
    expect({ reason, reply: r.reply }).toEqual({ reason, reply: "" });
    expect(db.received.length).toBe(before);
    expect(gw.metrics.refused.get(reason)).toBeGreaterThanOrEqual(1);
  }
  // Truncated: the client half-closes inside the hello.
  const hello = await captureHello({ servername: sni("db") });
  expect((await exchange(port, [hello.subarray(0, 50)])).reply).toBe("");
  expect(gw.metrics.handshakeErrors.get("truncated")).toBe(1);
  // Slow: half a hello, then nothing until the gateway's deadline.
  const slow = connect(port, "127.0.0.1");
  slow.on("error", () => {});
  slow.write(hello.subarray(0, 50));
  const t0 = Date.now();
  await new Promise((r) => slow.once("close", r));
  expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  expect(gw.metrics.refused.get("hello_timeout")).toBe(1);
  const text = gw.prometheus();
  expect(text).toContain('consulate_mesh_gateway_refused_total{reason="trust_domain"} 1');
  expect(text).toContain('consulate_mesh_gateway_route_connections_total{route="db"}');
  expect(text).toContain('consulate_mesh_gateway_handshake_errors_total{kind="not_tls"} 1');
  expect(logs.some((l) => l.includes("trust_domain") && l.includes("22222222"))).toBe(true);
});

test("back-pressure: a sidecar that stops reading stops the client too, and everything arrives once it reads again", async () => {
  const slowDb = await backend("slow", { paused: true });
  cp.instances.set("bulk", [{ address: "127.0.0.1", port: slowDb.port, id: "bulk-1" }]);
  cp.bump();
  for (let i = 0; i < 100 && !gw.catalog.table()?.local("bulk")?.length; i++) await new Promise((r) => setTimeout(r, 20));
  const hello = await captureHello({ servername: sni("bulk") });
  const total = 48 * 1024 * 1024;
  const s = connect(port, "127.0.0.1");
  s.on("error", () => {});
  let reply = "";
  s.on("data", (c) => (reply += c));
  await new Promise((r) => s.once("connect", r));
  s.write(hello);
  const chunk = Buffer.alloc(64 * 1024, 7);
  let written = 0;
  while (written < total && s.write(chunk)) written += chunk.length;
  written += chunk.length;
  await new Promise((r) => setTimeout(r, 500));
  // The gateway took only what the kernel buffers hold, not the whole stream.
  const inFlight = gw.metrics.bytesIn;
  expect(written).toBeLessThan(total);
  expect(inFlight).toBeGreaterThan(0);
  expect(inFlight).toBeLessThan(total / 2);
  for (const b of slowDb.sockets) b.resume();
  const pump = async () => {
    while (written < total) {
      if (!s.write(chunk)) await new Promise((r) => s.once("drain", r));
      written += chunk.length;
    }
    s.end();
  };
  await pump();
  await new Promise((r) => s.once("close", r));
  expect(reply).toBe(`slow got ${hello.length + written}`);
  await new Promise((r) => slowDb.server.close(r));
});

test("the last good table keeps routing while the control plane is down; the cap closes extra connections with a log line", async () => {
  cp.down = true;
  const hello = await captureHello({ servername: sni("db") });
  expect((await exchange(port, [hello])).reply).toBe(`db got ${hello.length}`);
  cp.down = false;
  const held: Socket[] = [];
  for (let i = 0; i < 4; i++) {
    const s = connect(port, "127.0.0.1");
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    s.write(hello.subarray(0, 10));
    held.push(s);
  }
  await new Promise((r) => setTimeout(r, 50));
  const r = await exchange(port, [hello]);
  expect(r.reply).toBe("");
  expect(gw.metrics.capHits).toBeGreaterThanOrEqual(1);
  expect(logs.some((l) => l.includes("connection cap of 4 reached"))).toBe(true);
  for (const s of held) s.destroy();
});

test("drain: no new connections, open ones finish before the deadline, the rest are cut at it", async () => {
  const g2 = new MeshGateway({ client: new Client({ address: cp.address }), datacenter: "dc1", binds: [{ host: "127.0.0.1", port: 0 }], logger });
  await g2.start();
  for (let i = 0; i < 100 && !g2.ready; i++) await new Promise((r) => setTimeout(r, 20));
  const p2 = g2.ports[0]!;
  const hello = await captureHello({ servername: sni("db") });
  const open = connect(p2, "127.0.0.1");
  open.on("error", () => {});
  let reply = "";
  open.on("data", (c) => (reply += c));
  const closed = new Promise((r) => open.once("close", r));
  await new Promise((r) => open.once("connect", r));
  open.write(hello);
  await new Promise((r) => setTimeout(r, 100));
  const draining = g2.drain(3_000);
  await new Promise((r) => setTimeout(r, 100));
  const refused = await new Promise<string>((resolve) => {
    const s = connect(p2, "127.0.0.1");
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "error"));
    s.on("connect", () => s.once("close", () => resolve("closed")));
  });
  expect(["ECONNREFUSED", "closed"]).toContain(refused);
  open.end();
  await closed;
  expect(reply).toBe(`db got ${hello.length}`);
  expect(await draining).toBe(0);
}, 20_000);
