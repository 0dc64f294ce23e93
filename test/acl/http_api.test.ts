/** /v1/acl/*: tokens, policies, roles and bootstrap, with Consul's shapes, statuses and texts. */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type AclHarness, ROOT, startAclHarness } from "./_acl_harness.ts";

describe("ACL API", () => {
  let h: AclHarness;
  beforeAll(async () => {
    h = await startAclHarness();
  });
  afterAll(() => h.stop());

  test("ACL routes answer 401 while ACLs are disabled", async () => {
    const off = await startAclHarness({ enabled: false });
    const res = await off.req("GET", "/v1/acl/policies");
    expect(res.status).toBe(401);
    expect(await res.text()).toBe("ACL support disabled");
    expect(res.headers.get("X-Consul-Default-ACL-Policy")).toBe("allow");
    await off.stop();
  });

  test("built-ins: global-management policy, anonymous token, initial management token", async () => {
    const policies = await h.json("GET", "/v1/acl/policies", { token: ROOT });
    expect(policies.map((p: { Name: string }) => p.Name)).toEqual(["builtin/global-read-only", "global-management"]);
    expect(policies[0].Rules).toBeUndefined();
    const self = await h.json("GET", "/v1/acl/token/self", { token: ROOT });
    expect(self.SecretID).toBe(ROOT);
    expect(self.Policies).toEqual([{ ID: "00000000-0000-0000-0000-000000000001", Name: "global-management" }]);
    const anon = await h.json("GET", "/v1/acl/token/00000000-0000-0000-0000-000000000002", { token: ROOT });
    expect(anon.Description).toBe("Anonymous Token");
    expect(anon.SecretID).toBe("anonymous");
  });

  test("anonymous and unknown tokens are refused with Consul's texts", async () => {
    const anon = await h.req("GET", "/v1/acl/tokens");
    expect(anon.status).toBe(403);
    expect(await anon.text()).toBe(
      "Permission denied: anonymous token lacks permission 'acl:read'. The anonymous token is used implicitly when a request does not specify a token.",
    );
    const unknown = await h.req("GET", "/v1/acl/tokens", { token: "3f0c7f2a-0000-4000-8000-000000000000" });
    expect(unknown.status).toBe(403);
    expect(await unknown.text()).toBe("ACL not found");
  });

  test("policy create, read by id and name, update, rules validated, delete", async () => {
    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "kv-app", Description: "app keys", Rules: 'key_prefix "app/" { policy = "write" }' } });
    expect(p).toMatchObject({ Name: "kv-app", Description: "app keys", Datacenters: [] });
    expect(p.ID).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.Hash).toBeString();
    expect(p.CreateIndex).toBeGreaterThan(0);
    expect(p.Parsed).toBeUndefined();
    expect((await h.json("GET", `/v1/acl/policy/${p.ID}`, { token: ROOT })).Rules).toBe('key_prefix "app/" { policy = "write" }');
    expect((await h.json("GET", "/v1/acl/policy/name/kv-app", { token: ROOT })).ID).toBe(p.ID);
    const upd = await h.json("PUT", `/v1/acl/policy/${p.ID}`, { token: ROOT, body: { Name: "kv-app", Rules: 'key_prefix "app/" { policy = "read" }' } });
    expect(upd.ModifyIndex).toBeGreaterThan(p.ModifyIndex);
    expect(upd.CreateIndex).toBe(p.CreateIndex);

    const bad = await h.req("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "bad", Rules: 'key "a" { policy = "wrte" }' } });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toMatch(/^Failed to parse policy: Invalid key policy/);
    const dup = await h.req("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "kv-app" } });
    expect(dup.status).toBe(400);
    expect(await dup.text()).toBe('Invalid Policy: A Policy with Name "kv-app" already exists');
    const withId = await h.req("PUT", "/v1/acl/policy", { token: ROOT, body: { ID: p.ID, Name: "x" } });
    expect(await withId.text()).toBe("Cannot specify the ID when creating a new policy");
    const builtin = await h.req("DELETE", "/v1/acl/policy/00000000-0000-0000-0000-000000000001", { token: ROOT });
    expect(builtin.status).toBe(400);

    const gone = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "temp" } });
    expect(await h.json("DELETE", `/v1/acl/policy/${gone.ID}`, { token: ROOT })).toBe(true);
    const miss = await h.req("GET", `/v1/acl/policy/${gone.ID}`, { token: ROOT });
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe("Requested policy does not exist: ACL not found");
  });

  test("tokens: create with policy by name, read, list with filters, update, clone, delete; secrets hidden without acl:write", async () => {
    await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "acl-read", Rules: 'acl = "read"' } });
    const reader = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "reader", Policies: [{ Name: "acl-read" }] } });
    expect(reader.Policies[0].Name).toBe("acl-read");
    expect(reader.Local).toBe(false);
    expect(reader.CreateTime).toMatch(/^\d{4}-\d\d-\d\dT/);
    const svc = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { ServiceIdentities: [{ ServiceName: "web" }], Local: true } });
    expect(svc.Local).toBe(true);

    const all = await h.json("GET", "/v1/acl/tokens", { token: ROOT });
    expect(all.length).toBeGreaterThanOrEqual(4);
    const byService = await h.json("GET", "/v1/acl/tokens?servicename=web", { token: ROOT });
    expect(byService.map((t: { AccessorID: string }) => t.AccessorID)).toEqual([svc.AccessorID]);
    const asReader = await h.json("GET", "/v1/acl/tokens", { token: reader.SecretID });
    expect(asReader.every((t: { SecretID: string }) => t.SecretID === "<hidden>")).toBe(true);
    // acl:read may not write.
    const denied = await h.req("PUT", "/v1/acl/token", { token: reader.SecretID, body: {} });
    expect(denied.status).toBe(403);
    expect(await denied.text()).toBe(`Permission denied: token with AccessorID '${reader.AccessorID}' lacks permission 'acl:write'`);

    const updated = await h.json("PUT", `/v1/acl/token/${reader.AccessorID}`, { token: ROOT, body: { Description: "renamed", Policies: [{ Name: "acl-read" }] } });
    expect(updated.Description).toBe("renamed");
    expect(updated.SecretID).toBe(reader.SecretID);
    const mismatch = await h.req("PUT", `/v1/acl/token/${reader.AccessorID}`, { token: ROOT, body: { AccessorID: svc.AccessorID } });
    expect(await mismatch.text()).toBe("Token Accessor ID in URL and payload do not match");
    const toggle = await h.req("PUT", `/v1/acl/token/${svc.AccessorID}`, { token: ROOT, body: { Local: false } });
    expect(await toggle.text()).toBe(`Cannot toggle local mode of ${svc.AccessorID}`);

    const clone = await h.json("PUT", `/v1/acl/token/${reader.AccessorID}/clone`, { token: ROOT, body: { Description: "copy" } });
    expect(clone.AccessorID).not.toBe(reader.AccessorID);
    expect(clone.Policies).toEqual(updated.Policies);
    expect(clone.Description).toBe("copy");

    expect(await h.json("DELETE", `/v1/acl/token/${clone.AccessorID}`, { token: ROOT })).toBe(true);
    const miss = await h.req("GET", `/v1/acl/token/${clone.AccessorID}`, { token: ROOT });
    expect(miss.status).toBe(404);
    expect(await miss.text()).toBe("Requested token does not exist: ACL not found");
    const deleted = await h.req("GET", "/v1/acl/token/self", { token: clone.SecretID });
    expect(deleted.status).toBe(403);
    const anonDel = await h.req("DELETE", "/v1/acl/token/00000000-0000-0000-0000-000000000002", { token: ROOT });
    expect(anonDel.status).toBe(400);
  });

  test("token expiration: TTL bounds, and an expired token no longer resolves", async () => {
    const short = await h.req("PUT", "/v1/acl/token", { token: ROOT, body: { ExpirationTTL: "10s" } });
    expect(short.status).toBe(400);
    expect(await short.text()).toMatch(/^Token Expiration TTL '10s' should be between 1m0s and 24h0m0s/);
    const both = await h.req("PUT", "/v1/acl/token", { token: ROOT, body: { ExpirationTTL: "1h", ExpirationTime: "2099-01-01T00:00:00Z" } });
    expect(await both.text()).toBe("Expiration TTL and Expiration Time cannot both be set");
    const t = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { ExpirationTTL: "1h" } });
    const exp = Date.parse(t.ExpirationTime) - h.clock.now();
    expect(exp).toBeGreaterThan(3_500_000);
    expect(exp).toBeLessThanOrEqual(3_600_000);
    expect((await h.req("GET", "/v1/acl/token/self", { token: t.SecretID })).status).toBe(200);
    h.clock.offset += 3_601_000;
    const res = await h.req("GET", "/v1/acl/token/self", { token: t.SecretID });
    expect(res.status).toBe(403);
    expect(await res.text()).toBe("ACL not found");
  });

  test("roles: create with a policy, link from a token, read by name, list by policy, delete", async () => {
    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "svc-read", Rules: 'service_prefix "" { policy = "read" }' } });
    const r = await h.json("PUT", "/v1/acl/role", { token: ROOT, body: { Name: "ops", Policies: [{ ID: p.ID }], NodeIdentities: [{ NodeName: "n1", Datacenter: "dc1" }] } });
    expect(r.Policies).toEqual([{ ID: p.ID, Name: "svc-read" }]);
    expect((await h.json("GET", "/v1/acl/role/name/ops", { token: ROOT })).ID).toBe(r.ID);
    expect((await h.json("GET", `/v1/acl/roles?policy=${p.ID}`, { token: ROOT })).map((x: { ID: string }) => x.ID)).toEqual([r.ID]);
    const t = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Roles: [{ Name: "ops" }] } });
    expect(t.Roles).toEqual([{ ID: r.ID, Name: "ops" }]);
    // The role's policy grants service reads to the token.
    const res = await h.req("GET", "/v1/catalog/services", { token: t.SecretID });
    expect(res.status).toBe(200);
    const missing = await h.req("PUT", "/v1/acl/token", { token: ROOT, body: { Roles: [{ Name: "nope" }] } });
    expect(missing.status).toBe(400);
    expect(await missing.text()).toBe('No such ACL role with name "nope"');
    expect(await h.json("DELETE", `/v1/acl/role/${r.ID}`, { token: ROOT })).toBe(true);
    expect((await h.json("GET", `/v1/acl/token/${t.AccessorID}`, { token: ROOT })).Roles).toEqual([]);
  });

  test("bad bodies get a 400, never a half-written object", async () => {
    for (const body of ["{", "[]", '{"Policies": 5}', '{"Description": 7}', JSON.stringify({ ServiceIdentities: [{ ServiceName: "Bad Name" }] })]) {
      const before = h.server.state.t.aclTokens.size;
      const res = await h.req("PUT", "/v1/acl/token", { token: ROOT, body });
      expect(res.status).toBe(400);
      expect(h.server.state.t.aclTokens.size).toBe(before);
    }
    const huge = await h.req("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "huge", Rules: "x".repeat(2 * 1024 * 1024) } });
    expect(huge.status).toBe(413);
  });
});

describe("bootstrap", () => {
  test("once, then refused with the reset index; the reset file allows one more", async () => {
    const dir = await mkdtemp(join(tmpdir(), "acl-boot-"));
    const resetPath = join(dir, "acl-bootstrap-reset");
    const h = await startAclHarness({ resetPath });
    try {
      const first = await h.json("PUT", "/v1/acl/bootstrap");
      expect(first.ID).toBe(first.SecretID);
      expect(first.Description).toBe("Bootstrap Token (Global Management)");
      expect(first.Policies).toEqual([{ ID: "00000000-0000-0000-0000-000000000001", Name: "global-management" }]);
      const again = await h.req("PUT", "/v1/acl/bootstrap");
      expect(again.status).toBe(403);
      const text = await again.text();
      const m = text.match(/^Permission denied: ACL bootstrap no longer allowed \(reset index: (\d+)\)$/);
      expect(m).not.toBeNull();
      await writeFile(resetPath, "99999");
      expect((await h.req("PUT", "/v1/acl/bootstrap")).status).toBe(403);
      await writeFile(resetPath, `${m![1]}\n`);
      const second = await h.json("PUT", "/v1/acl/bootstrap");
      expect(second.SecretID).not.toBe(first.SecretID);
      // The first bootstrap token still works; the reset file was consumed.
      expect((await h.req("GET", "/v1/acl/token/self", { token: first.SecretID })).status).toBe(200);
      expect((await h.req("PUT", "/v1/acl/bootstrap")).status).toBe(403);
    } finally {
      await h.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
