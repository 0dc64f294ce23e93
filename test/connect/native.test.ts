/**
 * The Connect-native API: a hono app served behind mutual TLS and intentions,
 * reached from another native app and from a sidecar; a plain node:tls
 * server guarded with connect.serverTLS + authorize.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Hono } from "hono";
import { createServer as createTlsServer, type TLSSocket } from "node:tls";
import type { AddressInfo } from "node:net";
import { connect, type ConnectService, guard } from "../../gateways/native/mod.ts";
import { FakeControlPlane } from "./_control_plane.ts";

let cp: FakeControlPlane;
let db: ConnectService;
let web: ConnectService;

beforeAll(async () => {
  cp = await FakeControlPlane.start();
  db = await connect.service({ service: "db", client: { address: cp.address } });
  web = await connect.service({ service: "web", client: { address: cp.address } });
});
afterAll(async () => {
  await web.close();
  await db.close();
  await cp.stop();
});

test("a hono app served natively answers a native client over the mesh; L7 intentions deny POST /admin with 403", async () => {
  const app = new Hono();
  app.get("/", (c) => c.text("rows"));
  app.post("/admin", async (c) => c.text(`admin ${await c.req.text()}`));
  app.post("/data", async (c) => c.json({ got: await c.req.text() }, 201));
  const served = await connect.serve(db, app.fetch, { port: 0 });
  try {
    cp.instances.set("db", [{ address: "127.0.0.1", port: served.port, id: "db-native" }]);
    cp.bump();
    const res = await connect.fetch(web, "db", "/");
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("rows");
    const created = await connect.fetch(web, "db", "/data", { method: "POST", body: "x=1" });
    expect(created.status).toBe(201);
    expect(await created.json()).toEqual({ got: "x=1" });

    cp.entries.set("service-defaults/db", { Kind: "service-defaults", Name: "db", Protocol: "http" });
    cp.intention("web", "db", null, [{ Action: "deny", HTTP: { PathExact: "/admin", Methods: ["POST"] } }, { Action: "allow", HTTP: { PathPrefix: "/" } }]);
    await new Promise((r) => setTimeout(r, 100));
    const denied = await connect.fetch(web, "db", "/admin", { method: "POST", body: "drop" });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe("RBAC: access denied");
    expect((await connect.fetch(web, "db", "/")).status).toBe(200);

    cp.intention("web", "db", "deny");
    await new Promise((r) => setTimeout(r, 100));
    await expect(connect.fetch(web, "db", "/")).rejects.toThrow();
  } finally {
    cp.intentions.splice(0);
    cp.entries.clear();
    cp.bump();
    await served.close();
  }
});

test("connect.serverTLS and authorize guard a plain node:tls server; connect.dial verifies the server is the service asked for", async () => {
  const refused: string[] = [];
  const check = guard(db, (r) => refused.push(r));
  const server = createTlsServer(connect.serverTLS(db), (s: TLSSocket) => {
    if (check(s)) s.end(`hello ${db.authorize(s).source?.service}\n`);
  });
  const stopWatching = db.watchServer(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  try {
    cp.instances.set("db", [{ address: "127.0.0.1", port, id: "db-1" }]);
    cp.bump();
    await new Promise((r) => setTimeout(r, 50));
    const sock = await connect.dial(web, "db");
    const text = await new Promise<string>((resolve) => {
      let t = "";
      sock.on("data", (c) => (t += c));
      sock.on("close", () => resolve(t));
    });
    expect(text).toBe("hello web\n");

    // The same server is not "cache": a dial to cache refuses the impostor.
    cp.instances.set("cache", [{ address: "127.0.0.1", port, id: "cache-1" }]);
    cp.bump();
    await expect(connect.dial(web, "cache")).rejects.toThrow('server identity is service "db"');

    cp.intention("web", "db", "deny");
    await new Promise((r) => setTimeout(r, 100));
    const s2 = await connect.dial(web, "db");
    const closed = await new Promise<string>((resolve) => {
      let t = "";
      s2.on("data", (c) => (t += c));
      s2.on("close", () => resolve(t));
      s2.on("error", () => {});
    });
    expect(closed).toBe("");
    expect(refused.some((r) => r.includes("Action: DENY"))).toBe(true);
  } finally {
    cp.intentions.splice(0);
    cp.instances.clear();
    cp.bump();
    stopWatching();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
