/**
 * Two datacenters through mesh gateways, on stand-in control planes (one per
 * datacenter, sharing a CA and trust domain, each answering `?dc=` for the
 * other as federated servers do): web's sidecar in dc1 reaches db's sidecar
 * in dc2
 *   - mode local: web -> dc1's gateway -> dc2's gateway (WAN) -> db,
 *   - mode remote: web -> dc2's gateway -> db,
 *   - mode none: web -> db directly,
 * with Consul's precedence (upstream > proxy registration > service-defaults >
 * proxy-defaults); a deny intention blocks it; a tap between the gateways
 * sees ciphertext only; the gateways never ask for a leaf (no private key).
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { createServer as createHttpServer, request } from "node:http";
import { Client } from "../../src/api/mod.ts";
import { MeshGateway } from "../../gateways/mesh_gateway/mod.ts";
import { SidecarProxy, type SidecarConfig } from "../../gateways/sidecar/mod.ts";
import { FakeControlPlane } from "../connect/_control_plane.ts";

const SECRET = "plaintext-marker-7f3a9c";
const logs: string[] = [];
const logger = { debug() {}, info() {}, warn: (m: string) => logs.push(m), error: (m: string) => logs.push(m) };
const cleanups: (() => Promise<unknown>)[] = [];

async function listenPort(s: Server): Promise<number> {
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return (s.address() as AddressInfo).port;
}

/** A relay that keeps a copy of every byte it carries (the capture of the gateway-to-gateway link). */
async function tap(targetPort: number): Promise<{ port: number; bytes: Buffer[] }> {
  const bytes: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((c) => {
    const u = connect(targetPort, "127.0.0.1");
    for (const s of [c, u]) {
      sockets.add(s);
      s.on("error", () => {
        c.destroy();
        u.destroy();
      });
    }
    c.on("data", (d: Buffer) => bytes.push(Buffer.from(d)));
    u.on("data", (d: Buffer) => bytes.push(Buffer.from(d)));
    c.pipe(u);
    u.pipe(c);
  });
  const port = await listenPort(server);
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });
  return { port, bytes };
}

function post(port: number): Promise<{ status: number; text: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path: "/q", method: "POST", agent: false, timeout: 4000 }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on("error", (e) => resolve({ error: e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(`${SECRET} request body`);
  });
}

let cp1: FakeControlPlane;
let cp2: FakeControlPlane;
let gw1: MeshGateway;
let gw2: MeshGateway;
let gwTap: { port: number; bytes: Buffer[] };

async function sidecar(cp: FakeControlPlane, config: SidecarConfig): Promise<SidecarProxy> {
  const p = new SidecarProxy({ client: new Client({ address: cp.address }), logger, source: { kind: "static", config } });
  await p.start();
  cleanups.push(() => p.stop());
  return p;
}

beforeAll(async () => {
  cp1 = await FakeControlPlane.start({ datacenter: "dc1" });
  cp2 = await FakeControlPlane.start({ datacenter: "dc2", ca: cp1.ca });
  cp1.peers.set("dc2", cp2);
  cp2.peers.set("dc1", cp1);
  cleanups.push(() => cp1.stop(), () => cp2.stop());

  const app = createHttpServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => res.end(`db in dc2 read "${body}" (${SECRET} reply)`));
  });
  const appPort = await listenPort(app);
  cleanups.push(() => new Promise((r) => app.close(r)));
  const db = await sidecar(cp2, { service: "db", public: { bindAddress: "127.0.0.1", bindPort: 0, localAddress: "127.0.0.1", localPort: appPort }, upstreams: [], protocol: "" });
  await db.whenServing();
  cp2.instances.set("db", [{ address: "127.0.0.1", port: db.publicPort, id: "db-sidecar-proxy" }]);

  // The gateways ask their control planes with a token of their own, so their requests can be told apart.
  gw2 = new MeshGateway({ client: new Client({ address: cp2.address, token: "gateway" }), datacenter: "dc2", binds: [{ host: "127.0.0.1", port: 0 }, { host: "127.0.0.1", port: 0 }], logger });
  await gw2.start();
  const [lan2, wan2] = gw2.ports as [number, number];
  // dc2's gateway is reached from dc1 through a tap on its WAN address.
  gwTap = await tap(wan2);
  cp2.gateways.set("mesh-gateway", [{ id: "mgw2", lan: { address: "127.0.0.1", port: lan2 }, wan: { address: "127.0.0.1", port: gwTap.port } }]);
  gw1 = new MeshGateway({ client: new Client({ address: cp1.address, token: "gateway" }), datacenter: "dc1", binds: [{ host: "127.0.0.1", port: 0 }], logger });
  await gw1.start();
  cp1.gateways.set("mesh-gateway", [{ id: "mgw1", lan: { address: "127.0.0.1", port: gw1.ports[0]! }, wan: { address: "127.0.0.1", port: gw1.ports[0]! } }]);
  cp1.bump();
  cp2.bump();
  cleanups.push(() => gw1.drain(0), () => gw2.drain(0));
  for (let i = 0; i < 200 && !(gw1.ready && gw2.ready && gw1.catalog.table()?.remote("dc2")?.length); i++) await new Promise((r) => setTimeout(r, 25));
  expect(gw1.catalog.table()?.remote("dc2")?.length).toBe(1);
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await Promise.race([c().catch(() => {}), new Promise((r) => setTimeout(r, 3_000))]);
});

const routed = () => ({ dc1: gw1.metrics.byRoute.get("dc:dc2"), dc2: gw2.metrics.byRoute.get("db") });
/**
 * Which gateways carried connections since `before` (reach() retries an
 * attempt that failed on a loaded machine, so a gateway may count more than one).
 */
const through = (before: { dc1: number; dc2: number }) => {
  const now = routed();
  return { dc1: now.dc1 > before.dc1, dc2: now.dc2 > before.dc2 };
};

async function webWith(mode: { upstream?: string; proxy?: string }): Promise<number> {
  const web = await sidecar(cp1, {
    service: "web",
    public: null,
    protocol: "",
    meshGatewayMode: mode.proxy ?? "",
    upstreams: [{ destinationName: "db", destinationNamespace: "", datacenter: "dc2", bindAddress: "127.0.0.1", bindPort: 0, meshGatewayMode: mode.upstream ?? "" }],
  });
  return web.upstreamPorts.db!;
}

async function reach(port: number): Promise<{ status: number; text: string }> {
  for (let i = 0; ; i++) {
    const r = await post(port);
    if ("status" in r) return r;
    if (i > 40) throw new Error(`${r.error}\n${logs.slice(-5).join("\n")}`);
    await new Promise((res) => setTimeout(res, 50));
  }
}

test("mode local goes through both gateways, and a tap between them sees no plaintext", async () => {
  cp1.entries.set("proxy-defaults/global", { Kind: "proxy-defaults", Name: "global", MeshGateway: { Mode: "local" } });
  cp1.bump();
  const port = await webWith({});
  const before = routed();
  const r = await reach(port);
  expect(r).toEqual({ status: 200, text: `db in dc2 read "${SECRET} request body" (${SECRET} reply)` });
  expect(through(before)).toEqual({ dc1: true, dc2: true });
  const captured = Buffer.concat(gwTap.bytes);
  expect(captured.length).toBeGreaterThan(500);
  expect(captured[0]).toBe(0x16);
  expect(captured.includes(SECRET)).toBe(false);
  expect(captured.includes("request body")).toBe(false);
});

test("precedence: service-defaults over proxy-defaults, the proxy registration over both, the upstream over all", async () => {
  // service-defaults of web says remote: dc1's gateway is skipped.
  cp1.entries.set("service-defaults/web", { Kind: "service-defaults", Name: "web", MeshGateway: { Mode: "remote" } });
  cp1.bump();
  const port = await webWith({});
  await new Promise((r) => setTimeout(r, 200));
  let before = routed();
  expect((await reach(port)).status).toBe(200);
  expect(through(before)).toEqual({ dc1: false, dc2: true });

  // The proxy registration says local: back through dc1's gateway.
  const viaProxy = await webWith({ proxy: "local" });
  before = routed();
  expect((await reach(viaProxy)).status).toBe(200);
  expect(through(before)).toEqual({ dc1: true, dc2: true });

  // The upstream says none: straight to db's sidecar, no gateway.
  const direct = await webWith({ proxy: "local", upstream: "none" });
  before = routed();
  expect((await reach(direct)).status).toBe(200);
  expect(routed()).toEqual(before);
});

test("a deny intention web -> db stops the connection at db's sidecar; the gateways never asked for a leaf", async () => {
  const port = await webWith({ upstream: "remote" });
  expect((await reach(port)).status).toBe(200);
  cp2.intention("web", "db", "deny");
  let r = await post(port);
  for (let i = 0; i < 40 && "status" in r; i++) {
    await new Promise((res) => setTimeout(res, 25));
    r = await post(port);
  }
  expect("error" in r).toBe(true);
  expect(logs.some((l) => l.includes("refused web") && l.includes("to db"))).toBe(true);
  cp2.intention("web", "db", null);
  const gatewayPaths = [...cp1.seen, ...cp2.seen].filter((s) => s.token === "gateway").map((s) => s.path);
  expect(gatewayPaths.length).toBeGreaterThan(0);
  expect(gatewayPaths.filter((p) => p.includes("/connect/ca/leaf"))).toEqual([]);
});
