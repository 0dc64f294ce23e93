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

/** Retries `attempt` until it yields a value: the services see a control-plane change on their next blocking query, not at once. */
async function eventually<T>(what: string, attempt: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await attempt();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const readAll = (sock: TLSSocket): Promise<string> =>
  new Promise<string>((resolve) => {
    let t = "";
    sock.on("data", (c) => (t += c));
    sock.on("close", () => resolve(t));
    sock.on("error", () => {});
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
    const denied = await eventually("the L7 intention", async () => {
      const r = await connect.fetch(web, "db", "/admin", { method: "POST", body: "drop" });
      return r.status === 403 ? r : undefined;
    });
    expect(await denied.text()).toBe("RBAC: access denied");
    expect((await connect.fetch(web, "db", "/")).status).toBe(200);

    cp.intention("web", "db", "deny");
    await eventually("the L4 deny", () => connect.fetch(web, "db", "/").then(() => undefined, () => true));
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
    const text = await eventually("web to reach db", async () => readAll(await connect.dial(web, "db")));
    expect(text).toBe("hello web\n");

    // The same server is not "cache": a dial to cache refuses the impostor.
    cp.instances.set("cache", [{ address: "127.0.0.1", port, id: "cache-1" }]);
    cp.bump();
    await expect(connect.dial(web, "cache")).rejects.toThrow('server identity is service "db"');

    cp.intention("web", "db", "deny");
    const closed = await eventually("db to refuse web", async () => {
      const t = await readAll(await connect.dial(web, "db"));
      return t === "" ? t : undefined;
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
