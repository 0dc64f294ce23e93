/**
 * ACLs across three datacenters over real NATS (each its own nats-server and
 * server, dc1 primary, default deny in all): policies, roles and global
 * tokens made in dc1 replicate to dc2 (token replication on), local tokens
 * stay local, a `?dc=dc2` request made in dc1 carries its token, global
 * writes made in dc2 go to dc1 and come back, dc3 (token replication off)
 * asks dc1 for tokens and caches them per token_ttl, and with dc1 gone dc2
 * keeps resolving what it replicated while dc3 follows extend-cache.
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
/** dc1 primary; dc2 replicates tokens; dc3 replicates policies and roles only. */
const NAMES = ["dc1", "dc2", "dc3"];
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
  for (const name of NAMES) {
    const nats = await startNatsCluster({ size: 1, name: `acl-${name}` });
    const h = await startAclHarness({ datacenter: name, primaryDatacenter: "dc1" });
    const nc = await connect({ servers: nats.urls });
    dcs[name] = { nats, h, nc } as Dc;
  }
  for (const [name, dc] of Object.entries(dcs)) {
    const others = Object.fromEntries(NAMES.filter((n) => n !== name).map((n) => [n, dcs[n]!.nats.urls]));
    dc.fed = new Federation({ server: dc.h.server, primary: "dc1", nc: dc.nc, connector, staticUrls: others, wan: null });
    dc.h.useRpc(dc.fed.rpc);
    const fed = dc.fed;
    dc.h.server.acl.isPrimary = () => fed.primary === name;
    // The agent's wiring (src/agent/run.ts): the replication token is ROOT, which only dc1 holds at first.
    dc.stopReplication = followLeadership(dc.h.server, new AclReplicator({ server: dc.h.server, rpc: fed.rpc, primary: () => fed.primary, token: () => ROOT, tokens: name !== "dc3" }));
  }
  await until("links", () => dcs.dc1!.fed.links.isUp("dc2") && dcs.dc2!.fed.links.isUp("dc1") && dcs.dc1!.fed.links.isUp("dc3") && dcs.dc3!.fed.links.isUp("dc1"));
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
  // It works in dc2 at once (dc2 asks dc1 for a token it does not hold yet), and replicates soon after.
  const took = await until("the token working in dc2", async () => (await dc2.req("PUT", "/v1/kv/app/early", { token: t.SecretID, body: "1" })).status === 200, 5_000);
  expect(took).toBeLessThan(2_000);
  expect((await dc2.req("GET", "/v1/acl/token/self", { token: t.SecretID })).status).toBe(200);
  await until("the token, its role and policy replicated to dc2", () => dc2.server.state.t.aclTokens.has(t.AccessorID) && dc2.server.state.t.aclRoles.has(role.ID) && dc2.server.state.t.aclPolicies.has(p.ID), 5_000);
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

test("global ACL writes made in dc2 go to dc1 and replicate back; local tokens stay in dc2", async () => {
  const dc1 = dcs.dc1!.h;
  const dc2 = dcs.dc2!.h;
  const t1 = dc1.server.state.t;
  const t2 = dc2.server.state.t;
  const p = await dc2.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "made-in-dc2", Rules: 'key_prefix "dc2/" { policy = "write" }' } });
  expect(t1.aclPolicies.get(p.ID)?.Name).toBe("made-in-dc2");
  const role = await dc2.json("PUT", "/v1/acl/role", { token: ROOT, body: { Name: "role-from-dc2", Policies: [{ ID: p.ID }] } });
  expect(t1.aclRoles.has(role.ID)).toBe(true);
  const g = await dc2.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "global from dc2", Roles: [{ Name: "role-from-dc2" }] } });
  expect(g.Local).toBe(false);
  expect(t1.aclTokens.get(g.AccessorID)?.SecretID).toBe(g.SecretID);
  await until("the token back in dc2", () => t2.aclTokens.has(g.AccessorID) && t2.aclRoles.has(role.ID) && t2.aclPolicies.has(p.ID));
  expect((await dc2.req("PUT", "/v1/kv/dc2/x", { token: g.SecretID, body: "1" })).status).toBe(200);
  expect((await dc1.req("PUT", "/v1/kv/dc2/x", { token: g.SecretID, body: "1" })).status).toBe(200);
  expect((await dc2.req("PUT", "/v1/kv/other/x", { token: g.SecretID, body: "1" })).status).toBe(403);

  // Update and clone of the global token: made in dc1.
  await dc2.json("PUT", `/v1/acl/token/${g.AccessorID}`, { token: ROOT, body: { Description: "renamed in dc2", Roles: [{ ID: role.ID }] } });
  expect(t1.aclTokens.get(g.AccessorID)?.Description).toBe("renamed in dc2");
  const clone = await dc2.json("PUT", `/v1/acl/token/${g.AccessorID}/clone`, { token: ROOT, body: { Description: "clone" } });
  expect(t1.aclTokens.has(clone.AccessorID)).toBe(true);

  // A local token made in dc2 stays there, and so do its update and delete.
  const local = await dc2.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "dc2 local", Local: true, Policies: [{ ID: p.ID }] } });
  expect(t2.aclTokens.get(local.AccessorID)?.Local).toBe(true);
  expect(t1.aclTokens.has(local.AccessorID)).toBe(false);
  await dc2.json("PUT", `/v1/acl/token/${local.AccessorID}`, { token: ROOT, body: { Description: "dc2 local, updated", Policies: [{ ID: p.ID }] } });
  expect(t2.aclTokens.get(local.AccessorID)?.Description).toBe("dc2 local, updated");
  expect((await dc1.req("PUT", "/v1/kv/dc2/y", { token: local.SecretID, body: "1" })).status).toBe(403);
  await dc2.json("DELETE", `/v1/acl/token/${local.AccessorID}`, { token: ROOT });
  expect(t2.aclTokens.has(local.AccessorID)).toBe(false);

  // Deletes of global objects: in dc1 at once, in dc2 by replication.
  await dc2.json("DELETE", `/v1/acl/token/${clone.AccessorID}`, { token: ROOT });
  expect(t1.aclTokens.has(clone.AccessorID)).toBe(false);
  await dc2.json("DELETE", `/v1/acl/role/${role.ID}`, { token: ROOT });
  expect(t1.aclRoles.has(role.ID)).toBe(false);
  await until("the deletes in dc2", () => !t2.aclTokens.has(clone.AccessorID) && !t2.aclRoles.has(role.ID));
  // Errors come back from dc1 with its texts.
  const dup = await dc2.req("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "made-in-dc2", Rules: "" } });
  expect(dup.status).toBe(400);
  expect(await dup.text()).toContain('A Policy with Name "made-in-dc2" already exists');
  expect((await dc2.req("PUT", "/v1/acl/policy", { body: { Name: "anon", Rules: "" } })).status).toBe(403);
});

test("dc3 (no token replication) asks dc1 for global tokens and caches each for token_ttl", async () => {
  const dc1 = dcs.dc1!.h;
  const dc3 = dcs.dc3!.h;
  const t = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "resolved remotely", Policies: [{ Name: "kv-app" }] } });
  expect((await dc3.req("PUT", "/v1/kv/app/dc3", { token: t.SecretID, body: "1" })).status).toBe(200);
  const denied = await dc3.req("PUT", "/v1/kv/other/dc3", { token: t.SecretID, body: "1" });
  expect(denied.status).toBe(403);
  expect(await denied.text()).toBe(`Permission denied: token with AccessorID '${t.AccessorID}' lacks permission 'key:write' on "other/dc3"`);
  expect(dc3.server.state.t.aclTokens.has(t.AccessorID)).toBe(false);
  expect(dc3.server.state.t.aclTokens.size).toBeGreaterThan(0); // its own anonymous token
  // A client agent of dc3 asks its server (ACL.ResolveToken), which answers with what dc1 resolved.
  const viaDc3 = await dcs.dc3!.fed.rpc.call("ACL.ResolveToken", {}, { datacenter: "dc3", minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0, token: t.SecretID });
  expect(viaDc3.AccessorID).toBe(t.AccessorID);
  expect(viaDc3.Rules.length).toBe(1);
  // token/self is answered by dc1 for a token dc3 does not hold.
  expect((await dc3.json("GET", "/v1/acl/token/self", { token: t.SecretID })).AccessorID).toBe(t.AccessorID);
  const unknown = await dc3.req("PUT", "/v1/kv/app/dc3", { token: crypto.randomUUID(), body: "1" });
  expect(unknown.status).toBe(403);
  expect(await unknown.text()).toBe("ACL not found");
  // Policies and roles still replicate to dc3.
  await until("kv-app in dc3", () => dc3.server.state.t.aclPolicyByName.has("kv-app"));

  // Deleted in dc1: dc3 keeps its cached answer until token_ttl (30 s, moved by the test's clock) has passed.
  await dc1.json("DELETE", `/v1/acl/token/${t.AccessorID}`, { token: ROOT });
  expect((await dc3.req("PUT", "/v1/kv/app/dc3", { token: t.SecretID, body: "2" })).status).toBe(200);
  dc3.clock.offset += 31_000;
  const gone = await dc3.req("PUT", "/v1/kv/app/dc3", { token: t.SecretID, body: "3" });
  expect(gone.status).toBe(403);
  expect(await gone.text()).toBe("ACL not found");
});

test("with dc1 gone, dc2 keeps resolving the tokens it replicated and reports the error; dc3 follows extend-cache for tokens it has seen", async () => {
  const dc1 = dcs.dc1!.h;
  const dc2 = dcs.dc2!.h;
  const t = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "before the outage", Policies: [{ Name: "kv-app" }] } });
  await until("the token in dc2", () => dc2.server.state.t.aclTokens.has(t.AccessorID));
  const dc3 = dcs.dc3!.h;
  const seen = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "seen by dc3", Policies: [{ Name: "kv-app" }] } });
  const unseen = await dc1.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "never used in dc3", Policies: [{ Name: "kv-app" }] } });
  expect((await dc3.req("PUT", "/v1/kv/app/seen", { token: seen.SecretID, body: "1" })).status).toBe(200);
  const before = (await dc2.json("GET", "/v1/acl/replication")).LastError;
  await dcs.dc1!.nats.kill(0);
  await until("the replication error", async () => (await dc2.json("GET", "/v1/acl/replication")).LastError !== before, 15_000);
  expect((await dc2.req("PUT", "/v1/kv/app/outage", { token: t.SecretID, body: "still" })).status).toBe(200);
  expect((await dc2.req("PUT", "/v1/kv/other/outage", { token: t.SecretID, body: "no" })).status).toBe(403);

  // dc3 holds no token: past token_ttl it asks dc1, gets no answer, and extends what it has seen (rules kept).
  dc3.clock.offset += 31_000;
  expect((await dc3.req("PUT", "/v1/kv/app/outage", { token: seen.SecretID, body: "still" })).status).toBe(200);
  expect((await dc3.req("PUT", "/v1/kv/other/outage", { token: seen.SecretID, body: "no" })).status).toBe(403);
  const never = await dc3.req("PUT", "/v1/kv/app/outage", { token: unseen.SecretID, body: "never seen" });
  expect(never.status).toBe(403);
  expect(await never.text()).toBe("Permission denied"); // the default policy's authorizer has no token to name
  expect(dc3.server.state.t.kvs.get("app/outage")).toBeDefined();
}, 30_000);
