/** `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/:service` through the HTTP pipeline. */
import { afterEach, beforeEach, expect, test } from "bun:test";
import type { Hono } from "hono";
import { FakeClock } from "../_fake_clock.ts";
import { LeafCerts } from "../../src/agent/leaf_certs.ts";
import { type ApiContext, allowAll, createApp } from "../../src/http/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";

let server: Server;
let clock: FakeClock;
let leaves: LeafCerts;
let app: Hono;

function apiContext(withLeaves: boolean): ApiContext {
  return {
    server,
    rpc: inProcessRpc(server),
    agent: {
      nodeName: "n1",
      nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
      datacenter: "dc1",
      primaryDatacenter: "dc1",
      advertiseAddr: "127.0.0.1",
      bindAddr: "127.0.0.1",
      serverPort: 8300,
      serfLanPort: 8301,
      httpPort: () => 8500,
      server: true,
      version: "1.21.0",
      revision: "test",
      startedAt: Date.now(),
    },
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, txnMaxOps: 128 },
    authorizer: allowAll,
    ...(withLeaves ? { leafCerts: leaves } : {}),
  };
}

beforeEach(async () => {
  clock = new FakeClock(Date.now());
  server = new Server({
    datacenter: "dc1",
    nodeName: "n1",
    nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
    advertiseAddr: "127.0.0.1",
    serverPort: 8300,
    log: new MemoryLog(),
    clock,
    connect: { caConfig: { CSRMaxPerSecond: 0 } },
  });
  await server.start();
  leaves = new LeafCerts({ rpc: inProcessRpc(server), datacenter: "dc1", clock, random: () => 0, caChangeJitterMs: 1_000 });
  app = createApp(apiContext(true));
});

afterEach(async () => {
  leaves.stop();
  await server.stop();
});

const get = async (path: string): Promise<Response> => app.request(`http://agent.test${path}`);

test("the leaf answers Consul's IssuedCert, with the private key and the certificate's index", async () => {
  const res = await get("/v1/agent/connect/ca/leaf/web");
  expect(res.status).toBe(200);
  const body = (await res.json()) as Record<string, unknown>;
  expect(Object.keys(body)).toEqual(["SerialNumber", "CertPEM", "PrivateKeyPEM", "Service", "ServiceURI", "ValidAfter", "ValidBefore", "CreateIndex", "ModifyIndex"]);
  expect(body.Service).toBe("web");
  expect(body.SerialNumber).toMatch(/^[0-9a-f]{2}(:[0-9a-f]{2})*$/);
  expect(body.ValidAfter).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(Number(res.headers.get("X-Consul-Index"))).toBe(body.ModifyIndex as number);
  expect(res.headers.get("X-Cache")).toBe("MISS");
  expect(res.headers.get("Age")).toBeNull();
  // Cached: the same certificate again, said to be a hit (Consul's setCacheMeta).
  const hit = await get("/v1/agent/connect/ca/leaf/web");
  expect(hit.headers.get("X-Cache")).toBe("HIT");
  expect(hit.headers.get("Age")).toBe("0");
  const again = (await hit.json()) as Record<string, unknown>;
  expect(again.SerialNumber).toBe(body.SerialNumber);
});

test("the agent's roots are the servers' roots, and a blocking leaf read wakes with a leaf of the rotated root", async () => {
  const miss = await get("/v1/agent/connect/ca/roots");
  const roots = (await miss.json()) as { ActiveRootID: string; Roots: unknown[] };
  const hit = await get("/v1/agent/connect/ca/roots");
  expect([miss.headers.get("X-Cache"), hit.headers.get("X-Cache"), hit.headers.get("Age")]).toEqual(["MISS", "HIT", "0"]);
  const direct = (await (await get("/v1/connect/ca/roots")).json()) as { ActiveRootID: string };
  expect(roots.ActiveRootID).toBe(direct.ActiveRootID);
  const first = await get("/v1/agent/connect/ca/leaf/web");
  const index = Number(first.headers.get("X-Consul-Index"));
  let woke = false;
  const blocked = get(`/v1/agent/connect/ca/leaf/web?index=${index}&wait=30s`).then((r) => ((woke = true), r));
  await new Promise((r) => setTimeout(r, 20));
  expect(woke).toBe(false);
  await server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: false });
  for (let i = 0; i < 100 && leaves.roots.value?.Roots.length !== 2; i++) await new Promise((r) => setTimeout(r, 5));
  // Re-issue lands at a random point of the (here 1s) window: random 0 is its start.
  await clock.advance(1);
  const res = await blocked;
  expect(Number(res.headers.get("X-Consul-Index"))).toBeGreaterThan(index);
  const now = (await (await get("/v1/agent/connect/ca/roots")).json()) as { ActiveRootID: string; Roots: unknown[] };
  expect(now.Roots).toHaveLength(2);
  expect(now.ActiveRootID).not.toBe(roots.ActiveRootID);
});

test("an agent without the CA caches says Connect is off", async () => {
  app = createApp(apiContext(false));
  const res = await get("/v1/agent/connect/ca/leaf/web");
  expect(res.status).toBe(500);
  expect(await res.text()).toBe("Connect must be enabled in order to use this endpoint");
});
