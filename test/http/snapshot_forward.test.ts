/** `/v1/snapshot` on a client agent: forwarded over the server RPC port, errors and all. */
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Hono } from "hono";
import { type ApiContext, allowAll, createApp } from "../../src/http/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { listenRpc, type RpcListener, ServerRouter, staticServers } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { readArchive } from "../../src/snapshot/mod.ts";

let server: Server;
let listener: RpcListener;
let router: ServerRouter;
let app: Hono;

beforeAll(async () => {
  server = new Server({ datacenter: "dc1", nodeName: "srv", nodeId: crypto.randomUUID(), advertiseAddr: "127.0.0.1", serverPort: 0, log: new MemoryLog() });
  await server.start();
  listener = await listenRpc({ host: "127.0.0.1", port: 0, server });
  router = new ServerRouter({ source: staticServers([{ name: "srv", host: "127.0.0.1", port: listener.port }]) });
  const api: ApiContext = {
    rpc: router,
    agent: {
      nodeName: "client1",
      nodeId: crypto.randomUUID(),
      datacenter: "dc1",
      primaryDatacenter: "dc1",
      advertiseAddr: "127.0.0.1",
      bindAddr: "127.0.0.1",
      serverPort: 8300,
      serfLanPort: 8301,
      httpPort: () => 8500,
      server: false,
      version: "1.21.0",
      revision: "test",
      startedAt: Date.now(),
    },
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, txnMaxOps: 128 },
    authorizer: allowAll,
  };
  app = createApp(api);
});

afterAll(async () => {
  router.close();
  await listener.stop();
  await server.stop();
});

const req = (path: string, init?: RequestInit) => app.request(`http://agent.test${path}`, init);

test("save and restore through a client agent reach the server", async () => {
  expect(await (await req("/v1/kv/k", { method: "PUT", body: "before" })).text()).toBe("true");
  const saved = await req("/v1/snapshot");
  expect(saved.status).toBe(200);
  expect(saved.headers.get("Content-Type")).toBe("application/x-gzip");
  const archive = new Uint8Array(await saved.arrayBuffer());
  expect(readArchive(archive).meta.Index).toBe(server.lastIndex());
  expect(Number(saved.headers.get("X-Consul-Index"))).toBe(server.lastIndex());

  await req("/v1/kv/k", { method: "PUT", body: "after" });
  const restored = await req("/v1/snapshot", { method: "PUT", body: archive });
  expect(restored.status).toBe(200);
  const [e] = (await (await req("/v1/kv/k")).json()) as { Value: string }[];
  expect(atob(e!.Value)).toBe("before");
});

test("a bad archive forwarded to the server comes back as the same 400, and nothing changes", async () => {
  const before = server.lastIndex();
  const res = await req("/v1/snapshot", { method: "PUT", body: "garbage" });
  expect(res.status).toBe(400);
  expect(await res.text()).toBe("failed to decompress snapshot: gzip: invalid header");
  expect(server.lastIndex()).toBe(before);
  const stale = await req("/v1/snapshot?stale", { method: "PUT", body: "garbage" });
  expect(stale.status).toBe(400);
  expect(await stale.text()).toBe("stale not allowed for restore");
});
