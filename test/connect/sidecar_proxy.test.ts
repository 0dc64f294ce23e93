/**
 * The sidecar data plane against a stand-in control plane: web -> upstream
 * listener -> mutual TLS -> db's public listener -> db app, with intentions
 * (L4 and L7), permissive mTLS, instance balancing and a vanished agent.
 */
import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Client } from "../../src/api/mod.ts";
import { SidecarProxy } from "../../gateways/sidecar/proxy.ts";
import { FakeControlPlane } from "./_control_plane.ts";

let cp: FakeControlPlane;
const stops: (() => Promise<void> | void)[] = [];
const logs: string[] = [];
const logger = { debug: () => {}, info: () => {}, warn: (m: string) => { logs.push(m); if (process.env.DEBUG_LOGS) console.log(m); }, error: (m: string) => logs.push(m) };

async function app(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(`${name} ${req.method} ${req.url} ${body}`);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  stops.push(() => new Promise<void>((r) => server.close(() => r())));
  stops.push(() => server.closeAllConnections());
  return { server, port: (server.address() as AddressInfo).port };
}

async function sidecar(service: string, opts: { localPort?: number; upstreams?: string[] }): Promise<SidecarProxy> {
  const proxy = new SidecarProxy({
    client: new Client({ address: cp.address }),
    logger,
    source: {
      kind: "static",
      config: {
        service,
        public: opts.localPort ? { bindAddress: "127.0.0.1", bindPort: 0, localAddress: "127.0.0.1", localPort: opts.localPort } : null,
        upstreams: (opts.upstreams ?? []).map((u) => ({ destinationName: u, destinationNamespace: "", datacenter: "", bindAddress: "127.0.0.1", bindPort: 0 })),
        protocol: "",
      },
    },
  });
  await proxy.start();
  stops.push(() => proxy.stop());
  await proxy.whenServing();
  return proxy;
}

/** One request on a fresh connection (no keep-alive pool), as "the next connection" means. */
function get(port: number, path = "/", method = "GET", body?: string): Promise<{ status: number; text: string } | { error: string }> {
  return new Promise((resolve) => {
    const req = request({ host: "127.0.0.1", port, path, method, agent: false, timeout: 3000, headers: body ? { "content-length": String(body.length) } : {} }, (res) => {
      let text = "";
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("error", (e) => resolve({ error: e.message }));
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.end(body);
  });
}

beforeAll(async () => {
  cp = await FakeControlPlane.start();
});
afterAll(async () => {
  await cp.stop();
});
afterEach(async () => {
  for (const s of stops.splice(0).reverse()) await s();
  cp.intentions.splice(0);
  cp.entries.clear();
  cp.instances.clear();
  cp.down = false;
  cp.bump();
});

async function mesh(): Promise<{ web: SidecarProxy; db: SidecarProxy; upstream: number }> {
  const dbApp = await app("db");
  const db = await sidecar("db", { localPort: dbApp.port });
  cp.instances.set("db", [{ address: "127.0.0.1", port: db.publicPort, id: "db-sidecar-proxy" }]);
  cp.bump();
  const web = await sidecar("web", { upstreams: ["db"] });
  return { web, db, upstream: web.upstreamPorts.db! };
}

test("web reaches db through two sidecars; a deny intention stops the next connection and allow restores it", async () => {
  const { upstream } = await mesh();
  expect(await get(upstream, "/hello")).toEqual({ status: 200, text: "db GET /hello " });

  cp.intention("web", "db", "deny");
  const t0 = Date.now();
  let denied = await get(upstream);
  while ("status" in denied && Date.now() - t0 < 1000) denied = await get(upstream);
  expect(denied).toHaveProperty("error");
  expect(Date.now() - t0).toBeLessThan(1000);
  expect(logs.some((l) => l.includes("refused web") && l.includes("to db: Matched L4 intention: default/web => default/db (Precedence: 9, Action: DENY)"))).toBe(true);

  cp.intention("web", "db", "allow");
  const t1 = Date.now();
  let back = await get(upstream);
  while ("error" in back && Date.now() - t1 < 1000) back = await get(upstream);
  expect(back).toEqual({ status: 200, text: "db GET / " });
});

test("an L7 intention on an http service refuses POST /admin with Envoy's 403 and lets GET / through, on one keep-alive connection", async () => {
  cp.entries.set("service-defaults/db", { Kind: "service-defaults", Name: "db", Protocol: "http" });
  cp.intention("web", "db", null, [
    { Action: "deny", HTTP: { PathPrefix: "/admin", Methods: ["POST"] } },
    { Action: "allow", HTTP: { PathPrefix: "/" } },
  ]);
  const { upstream } = await mesh();
  expect(await get(upstream, "/", "GET")).toEqual({ status: 200, text: "db GET / " });
  expect(await get(upstream, "/admin", "POST", "x")).toEqual({ status: 403, text: "RBAC: access denied" });
  expect(await get(upstream, "/admin", "GET")).toEqual({ status: 200, text: "db GET /admin " });
  expect(await get(upstream, "/data", "POST", "payload")).toEqual({ status: 200, text: "db POST /data payload" });
});

test("a request verdict kept for a source without L7 permissions gives way, on the open sidecar connection, to an L7 intention written later", async () => {
  cp.entries.set("service-defaults/db", { Kind: "service-defaults", Name: "db", Protocol: "http" });
  const { upstream } = await mesh();
  expect(await get(upstream, "/admin", "POST", "x")).toEqual({ status: 200, text: "db POST /admin x" });
  cp.intention("web", "db", null, [
    { Action: "deny", HTTP: { PathPrefix: "/admin" } },
    { Action: "allow", HTTP: { PathPrefix: "/" } },
  ]);
  cp.bump();
  const t0 = Date.now();
  let r = await get(upstream, "/admin", "POST", "x");
  while ("status" in r && r.status === 200 && Date.now() - t0 < 3000) r = await get(upstream, "/admin", "POST", "x");
  expect(r).toEqual({ status: 403, text: "RBAC: access denied" });
  expect(await get(upstream, "/", "GET")).toEqual({ status: 200, text: "db GET / " });
});

test("plain TCP to the public listener is refused in strict mode and admitted when service-defaults say permissive", async () => {
  const { db } = await mesh();
  expect(await get(db.publicPort)).toHaveProperty("error");
  expect(logs.some((l) => l.includes("TLS handshake from") && l.includes("mutual TLS mode strict, plaintext refused"))).toBe(true);
  cp.entries.set("service-defaults/db", { Kind: "service-defaults", Name: "db", MutualTLSMode: "permissive" });
  cp.bump();
  const t0 = Date.now();
  let r = await get(db.publicPort);
  while ("error" in r && Date.now() - t0 < 2000) r = await get(db.publicPort);
  expect(r).toEqual({ status: 200, text: "db GET / " });
});

test("connections are balanced round-robin over the healthy instances, and an unhealthy one is skipped", async () => {
  const a = await app("db-a");
  const b = await app("db-b");
  const sa = await sidecar("db", { localPort: a.port });
  const sb = await sidecar("db", { localPort: b.port });
  cp.instances.set("db", [
    { address: "127.0.0.1", port: sa.publicPort, id: "a" },
    { address: "127.0.0.1", port: sb.publicPort, id: "b" },
  ]);
  cp.bump();
  const web = await sidecar("web", { upstreams: ["db"] });
  const seen: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await get(web.upstreamPorts.db!);
    seen.push("text" in r ? r.text.split(" ")[0]! : r.error);
  }
  expect(seen.sort()).toEqual(["db-a", "db-a", "db-b", "db-b"]);
  cp.instances.get("db")![0]!.passing = false;
  cp.bump();
  await new Promise((r) => setTimeout(r, 100));
  for (let i = 0; i < 3; i++) expect(await get(web.upstreamPorts.db!)).toMatchObject({ text: "db-b GET / " });
});

test("with the agent gone the sidecars keep serving on their last good config, and pick up changes once it is back", async () => {
  const { upstream } = await mesh();
  expect(await get(upstream)).toMatchObject({ status: 200 });
  cp.down = true;
  cp.bump();
  await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < 3; i++) expect(await get(upstream)).toMatchObject({ status: 200 });
  cp.down = false;
  cp.intention("web", "db", "deny");
  const t0 = Date.now();
  let r = await get(upstream);
  while ("status" in r && Date.now() - t0 < 8000) {
    await new Promise((x) => setTimeout(x, 100));
    r = await get(upstream);
  }
  expect(r).toHaveProperty("error");
});

test("when the agent's default is deny, only an allow intention lets web in", async () => {
  cp.defaultPolicy = "deny";
  try {
    const { upstream } = await mesh();
    expect(await get(upstream)).toHaveProperty("error");
    expect(logs.some((l) => l.includes("refused web") && l.includes("to db:"))).toBe(true);
    cp.intention("web", "db", "allow");
    const t0 = Date.now();
    let r = await get(upstream);
    while ("error" in r && Date.now() - t0 < 1000) r = await get(upstream);
    expect(r).toEqual({ status: 200, text: "db GET / " });
  } finally {
    cp.defaultPolicy = "allow";
  }
});

test("root rotation under traffic: db moves to a leaf of the new root while web still has its old one, and no request fails", async () => {
  const { web, db, upstream } = await mesh();
  let failures = 0;
  let ok = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const r = await get(upstream);
      if ("status" in r && r.status === 200) ok++;
      else failures++;
    }
  })();
  // Conditions polled rather than slept for: on a loaded box a request can take longer than any fixed pause.
  const until = async (what: string, cond: () => boolean) => {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > 15_000) {
        running = false;
        throw new Error(`timed out waiting for ${what} (${ok} ok, ${failures} failed)`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  await until("traffic before the rotation", () => ok >= 3);
  const before = cp.leaves.get("web")!.serial;
  await cp.rotate();
  // db first: web (old leaf, old root) must accept db's new chain through the cross-signed root.
  const dbLeaf = await cp.issueLeaf("db");
  await until("db's new leaf", () => db.leafSerial === dbLeaf.serial);
  const atDbLeaf = ok;
  await until("traffic to db's new leaf", () => ok >= atDbLeaf + 6);
  expect(web.leafSerial).toBe(before);
  const midOk = ok;
  const webLeaf = await cp.issueLeaf("web");
  await until("web's new leaf", () => web.leafSerial === webLeaf.serial);
  await until("traffic from web's new leaf", () => ok > midOk + 2);
  running = false;
  await loop;
  expect(failures).toBe(0);
  expect(midOk).toBeGreaterThan(5);
  expect(ok).toBeGreaterThan(midOk);
  expect(webLeaf.serial).not.toBe(before);
});
