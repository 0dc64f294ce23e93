/**
 * ACLs across two datacenters over real NATS (each its own nats-server and
 * server, dc1 primary, default deny in both): policies, roles and global
 * tokens made in dc1 replicate to dc2 (token replication on), local tokens
 * stay local, a `?dc=dc2` request made in dc1 carries its token, and with
 * dc1 gone dc2 keeps resolving what it replicated.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type NatsConnection } from "@nats-io/transport-node";
import { Federation } from "../../federation/mod.ts";
import { AclReplicator, followLeadership } from "../../src/server/acl_replication.ts";
import { startNatsCluster, type NatsCluster } from "../_nats.ts";
import { type AclHarness, ROOT, startAclHarness } from "./_acl_harness.ts";

interface Dc {
  nats: NatsCluster;
  h: AclHarness;
  nc: NatsConnection;
  fed: Federation;
  stopReplication: () => Promise<void>;
}
const dcs: Record<string, Dc> = {};
const connector = (urls: readonly string[]) => connect({ servers: [...urls], maxReconnectAttempts: -1, reconnectTimeWait: 100, pingInterval: 1000, timeout: 1000 });

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await cond()) return Date.now() - start;
    await Bun.sleep(25);
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  for (const name of ["dc1", "dc2"]) {
    const nats = await startNatsCluster({ size: 1, name: `acl-${name}` });
    const h = await startAclHarness({ datacenter: name, primaryDatacenter: "dc1" });
    const nc = await connect({ servers: nats.urls });
    dcs[name] = { nats, h, nc } as Dc;
  }
  for (const [name, dc] of Object.entries(dcs)) {
    const other = name === "dc1" ? "dc2" : "dc1";
    dc.fed = new Federation({ server: dc.h.server, primary: "dc1", nc: dc.nc, connector, staticUrls: { [other]: dcs[other]!.nats.urls }, wan: null });
    dc.h.useRpc(dc.fed.rpc);
    const fed = dc.fed;
    dc.h.server.acl.isPrimary = () => fed.primary === name;
    // The agent's wiring (src/agent/run.ts): the replication token is ROOT, which only dc1 holds at first.
    dc.stopReplication = followLeadership(dc.h.server, new AclReplicator({ server: dc.h.server, rpc: fed.rpc, primary: () => fed.primary, token: () => ROOT, tokens: true }));
  }
  await until("links", () => dcs.dc1!.fed.links.isUp("dc2") && dcs.dc2!.fed.links.isUp("dc1"));
}, 30_000);

afterAll(async () => {
  for (const dc of Object.values(dcs)) {
    await dc.stopReplication?.().catch(() => {});
    await dc.fed?.stop().catch(() => {});
    await dc.nc?.close().catch(() => {});
    await dc.h?.stop().catch(() => {});
    await dc.nats?.stop();
  }
});

test("dc2 holds no initial management token of its own, and receives dc1's", async () => {
  const dc2 = dcs.dc2!.h;
  await until("ROOT in dc2", () => dc2.server.state.t.aclTokenBySecret.has(ROOT));
  const inDc1 = dcs.dc1!.h.server.state.t.aclTokens.get(dcs.dc1!.h.server.state.t.aclTokenBySecret.get(ROOT)!)!;
  expect(dc2.server.state.t.aclTokenBySecret.get(ROOT)).toBe(inDc1.AccessorID);
});

test("a global token and its policy made in dc1 work in dc2 within 2 s; ?dc=dc2 from dc1 carries the token", async () => {
  const dc1 = dcs.dc1!.h;
  const dc2 = dcs.dc2!.h;
  const p = await dc1.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "kv-app", Rules: 'key_prefix "app/" { policy = "write" }' } });
  const role = await dc1.json("PUT", "/v1/acl/role", { token: ROOT, body: { Name: "app-role", Policies: [{ ID: p.ID }] } });
  const t = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "global app", Roles: [{ ID: role.ID }] } });
  const took = await until("the token in dc2", async () => (await dc2.req("GET", "/v1/acl/token/self", { token: t.SecretID })).status === 200, 5_000);
  expect(took).toBeLessThan(2_000);
  expect((await dc2.json("GET", `/v1/acl/role/${role.ID}`, { token: ROOT })).Policies).toEqual([{ ID: p.ID, Name: "kv-app" }]);

  // Made in dc1, answered by dc2 (default deny in both).
  expect((await dc1.req("PUT", "/v1/kv/app/x?dc=dc2", { token: t.SecretID, body: "from dc1" })).status).toBe(200);
  expect(dc2.server.state.t.kvs.get("app/x")).toBeDefined();
  expect(dc1.server.state.t.kvs.get("app/x")).toBeUndefined();
  const denied = await dc1.req("PUT", "/v1/kv/other/x?dc=dc2", { token: t.SecretID, body: "no" });
  expect(denied.status).toBe(403);
  expect(await denied.text()).toBe(`Permission denied: token with AccessorID '${t.AccessorID}' lacks permission 'key:write' on "other/x"`);
  expect((await dc1.req("PUT", "/v1/kv/app/y?dc=dc2", { body: "anonymous" })).status).toBe(403);
  expect((await dc1.req("GET", "/v1/kv/app/x?dc=dc2", { token: t.SecretID })).status).toBe(200);

  // Replication status: Consul's shape, enabled in dc2 only.
  const st = await dc2.json("GET", "/v1/acl/replication");
  expect(Object.keys(st).sort()).toEqual(["Enabled", "LastError", "LastErrorMessage", "LastSuccess", "ReplicatedIndex", "ReplicatedRoleIndex", "ReplicatedTokenIndex", "ReplicationType", "Running", "SourceDatacenter"]);
  expect(st).toMatchObject({ Enabled: true, Running: true, SourceDatacenter: "dc1", ReplicationType: "tokens" });
  expect(st.ReplicatedIndex).toBeGreaterThan(0);
  expect(st.LastSuccess).not.toBe("0001-01-01T00:00:00Z");
  expect(await dc1.json("GET", "/v1/acl/replication")).toMatchObject({ Enabled: false, Running: false, SourceDatacenter: "" });
  expect((await dc1.json("GET", "/v1/acl/replication?dc=dc2")).SourceDatacenter).toBe("dc1");
});

test("local tokens stay in their datacenter; deletions replicate", async () => {
  const dc1 = dcs.dc1!.h;
  const dc2 = dcs.dc2!.h;
  const local1 = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "dc1 only", Local: true } });
  const local2 = await dc2.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "dc2 only", Local: true } });
  const gone = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "to delete" } });
  await until("the global token in dc2", () => dc2.server.state.t.aclTokens.has(gone.AccessorID));
  await dc1.json("DELETE", `/v1/acl/token/${gone.AccessorID}`, { token: ROOT });
  await until("the deletion in dc2", () => !dc2.server.state.t.aclTokens.has(gone.AccessorID));
  expect(dc2.server.state.t.aclTokens.has(local1.AccessorID)).toBe(false);
  expect(dc2.server.state.t.aclTokens.has(local2.AccessorID)).toBe(true);
  expect(dc1.server.state.t.aclTokens.has(local2.AccessorID)).toBe(false);
});

test("with dc1 gone, dc2 keeps resolving the tokens it replicated and reports the error", async () => {
  const dc1 = dcs.dc1!.h;
  const dc2 = dcs.dc2!.h;
  const t = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "before the outage", Policies: [{ Name: "kv-app" }] } });
  await until("the token in dc2", () => dc2.server.state.t.aclTokens.has(t.AccessorID));
  const before = (await dc2.json("GET", "/v1/acl/replication")).LastError;
  await dcs.dc1!.nats.kill(0);
  await until("the replication error", async () => (await dc2.json("GET", "/v1/acl/replication")).LastError !== before, 15_000);
  expect((await dc2.req("PUT", "/v1/kv/app/outage", { token: t.SecretID, body: "still" })).status).toBe(200);
  expect((await dc2.req("PUT", "/v1/kv/other/outage", { token: t.SecretID, body: "no" })).status).toBe(403);
}, 30_000);
