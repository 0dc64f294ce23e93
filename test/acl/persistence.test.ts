/**
 * ACL objects outlive a restart of a durable server (they travel the log and
 * its snapshots), expired tokens are refused at once and reaped by the
 * leader, and `enable_token_persistence` keeps API-set agent tokens.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalLog } from "../../src/log/mod.ts";
import { type AclHarness, ROOT, startAclHarness } from "./_acl_harness.ts";

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), "acl-persist-"));
  dirs.push(d);
  return d;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 8_000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("ACL persistence", () => {
  test("tokens, policies, roles and the bootstrap mark survive a restart (log tail and snapshot)", async () => {
    const dir = await tempDir();
    // A small threshold: part of the state comes back from a snapshot, the rest from the log after it.
    let h: AclHarness = await startAclHarness({ log: new LocalLog({ dir }), snapshotThreshold: 6 });
    const boot = await h.json("PUT", "/v1/acl/bootstrap");
    const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "kv-app", Rules: 'key_prefix "app/" { policy = "write" }' } });
    const r = await h.json("PUT", "/v1/acl/role", { token: ROOT, body: { Name: "app-role", Policies: [{ ID: p.ID }] } });
    for (let i = 0; i < 8; i++) await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: `filler-${i}` } });
    const t = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "app", Roles: [{ Name: "app-role" }] } });
    const local = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "local one", Local: true, Policies: [{ ID: p.ID }] } });
    await h.stop();

    h = await startAclHarness({ log: new LocalLog({ dir }), snapshotThreshold: 6 });
    try {
      expect((await readdir(dir)).some((f) => f.startsWith("snapshot-"))).toBe(true);
      const self = await h.json("GET", "/v1/acl/token/self", { token: t.SecretID });
      expect(self).toMatchObject({ AccessorID: t.AccessorID, Description: "app", Roles: [{ ID: r.ID, Name: "app-role" }], CreateIndex: t.CreateIndex });
      expect((await h.req("PUT", "/v1/kv/app/x", { token: t.SecretID, body: "v" })).status).toBe(200);
      expect((await h.req("PUT", "/v1/kv/other/x", { token: t.SecretID, body: "v" })).status).toBe(403);
      expect((await h.req("PUT", "/v1/kv/app/y", { token: local.SecretID, body: "v" })).status).toBe(200);
      expect((await h.json("GET", "/v1/acl/token/self", { token: boot.SecretID })).Description).toBe("Bootstrap Token (Global Management)");
      const names = (await h.json("GET", "/v1/acl/policies", { token: ROOT })).map((x: { Name: string }) => x.Name);
      expect(names).toContain("kv-app");
      expect(names).toContain("filler-7");
      const again = await h.req("PUT", "/v1/acl/bootstrap");
      expect(again.status).toBe(403);
      expect(await again.text()).toMatch(/ACL bootstrap no longer allowed \(reset index: \d+\)/);
    } finally {
      await h.stop();
    }
  });

  test("an expired token is refused at once, hidden from reads, and deleted by the leader's reaper", async () => {
    const h = await startAclHarness();
    try {
      const g = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "short", ExpirationTTL: "2m" } });
      const l = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "short local", Local: true, ExpirationTime: new Date(h.clock.now() + 90_000).toISOString() } });
      const keep = await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Description: "keeps", ExpirationTTL: "1h" } });
      const listed = async () => (await h.json("GET", "/v1/acl/tokens", { token: ROOT })).map((x: { AccessorID: string }) => x.AccessorID);
      expect(await listed()).toEqual(expect.arrayContaining([g.AccessorID, l.AccessorID, keep.AccessorID]));

      h.clock.offset += 121_000;
      // Refused before any reaping: the check is against the clock.
      for (const secret of [g.SecretID, l.SecretID]) {
        const res = await h.req("GET", "/v1/kv/x", { token: secret });
        expect(res.status).toBe(403);
        expect(await res.text()).toBe("ACL not found");
      }
      expect((await h.req("GET", `/v1/acl/token/${g.AccessorID}`, { token: ROOT })).status).toBe(404);
      expect(await listed()).not.toContain(g.AccessorID);

      await until("the reaper", () => !h.server.state.t.aclTokens.has(g.AccessorID) && !h.server.state.t.aclTokens.has(l.AccessorID));
      expect(h.server.state.t.aclTokens.has(keep.AccessorID)).toBe(true);
      expect((await h.req("GET", "/v1/acl/token/self", { token: keep.SecretID })).status).toBe(200);
    } finally {
      await h.stop();
    }
  });

  test("enable_token_persistence: API-set agent tokens are kept in acl-tokens.json and win over the config after a restart", async () => {
    const dir = await tempDir();
    const file = join(dir, "acl-tokens.json");
    let h = await startAclHarness({ persistFile: file, tokens: { agent: "from-config" } });
    try {
      expect(h.acl.token("agent")).toBe("from-config");
      expect((await h.req("PUT", "/v1/agent/token/agent", { token: ROOT, body: { Token: "from-api" } })).status).toBe(200);
      expect((await h.req("PUT", "/v1/agent/token/default", { token: ROOT, body: { Token: "default-api" } })).status).toBe(200);
      const saved = JSON.parse(await readFile(file, "utf8"));
      expect(saved).toEqual({ agent: "from-api", default: "default-api" });
      expect((await stat(file)).mode & 0o777).toBe(0o600);
    } finally {
      await h.stop();
    }
    h = await startAclHarness({ persistFile: file, tokens: { agent: "from-config", dns: "dns-config" } });
    try {
      expect(h.acl.token("agent")).toBe("from-api");
      expect(h.acl.token("default")).toBe("default-api");
      expect(h.acl.token("dns")).toBe("dns-config");
    } finally {
      await h.stop();
    }
    // Without persistence nothing is read or written; a damaged file is an error naming it.
    await writeFile(file, "{not json");
    await expect(startAclHarness({ persistFile: file })).rejects.toThrow(/failed to decode tokens file/);
    const off = await startAclHarness({ tokens: { agent: "cfg" } });
    try {
      expect((await off.req("PUT", "/v1/agent/token/agent", { token: ROOT, body: { Token: "x" } })).status).toBe(200);
      expect(await readFile(file, "utf8")).toBe("{not json");
    } finally {
      await off.stop();
    }
  });
});
