/**
 * A client agent's token resolution (src/agent/acl.ts remoteResolver): it
 * asks a server (ACL.ResolveToken over the RPC layer), keeps the answer for
 * token_ttl, and follows down_policy when no server answers: extend-cache
 * keeps what it had, deny and allow decide everything, async-cache answers
 * from the cache and refreshes behind it; a token the server no longer knows
 * is refused at once.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Authorizer } from "../../src/acl/mod.ts";
import { type AgentAclSettings, remoteResolver } from "../../src/agent/acl.ts";
import { inProcessRpc, NoServersError, type Rpc } from "../../src/rpc/mod.ts";
import { type AclHarness, ROOT, startAclHarness } from "./_acl_harness.ts";

let h: AclHarness;
let secret = "";
let policyId = "";
/** The servers as the client sees them: counted, and switched off at will. */
let calls = 0;
let down = false;
const servers = (): Rpc => {
  const real = inProcessRpc(h.server);
  return {
    call(method, args, opts) {
      calls++;
      if (down) return Promise.reject(new NoServersError());
      return Promise.resolve(real.call(method, args, opts));
    },
  };
};

const settings = (downPolicy: AgentAclSettings["downPolicy"]): AgentAclSettings => ({ enabled: true, defaultPolicy: "deny", downPolicy, tokenTtlMs: 30_000, enableTokenPersistence: false, tokens: {} });
const canWrite = async (a: Authorizer | Promise<Authorizer>, key: string) => (await a).allowed("key", "write", key);

beforeAll(async () => {
  h = await startAclHarness();
  const p = await h.json("PUT", "/v1/acl/policy", { token: ROOT, body: { Name: "app", Rules: 'key_prefix "app/" { policy = "write" }' } });
  policyId = p.ID;
  secret = (await h.json("PUT", "/v1/acl/token", { token: ROOT, body: { Policies: [{ ID: p.ID }] } })).SecretID;
});
afterAll(() => h.stop());

describe("client agent token resolution", () => {
  test("resolved by a server, cached for token_ttl, re-resolved after it", async () => {
    down = false;
    let now = 1_000_000;
    const resolve = remoteResolver(servers(), "dc1", settings("extend-cache"), () => now);
    calls = 0;
    expect(await canWrite(resolve(secret), "app/x")).toBe(true);
    expect(await canWrite(resolve(secret), "other/x")).toBe(false);
    expect(calls).toBe(1);
    // The policy changes on the servers: the client sees it only after token_ttl.
    await h.json("PUT", `/v1/acl/policy/${policyId}`, { token: ROOT, body: { Name: "app", Rules: 'key_prefix "app/" { policy = "read" }' } });
    now += 29_000;
    expect(await canWrite(resolve(secret), "app/x")).toBe(true);
    expect(calls).toBe(1);
    now += 2_000;
    expect(await canWrite(resolve(secret), "app/x")).toBe(false);
    expect(calls).toBe(2);
    await h.json("PUT", `/v1/acl/policy/${policyId}`, { token: ROOT, body: { Name: "app", Rules: 'key_prefix "app/" { policy = "write" }' } });
  });

  test("a token the servers do not know is refused, and not cached", async () => {
    down = false;
    const resolve = remoteResolver(servers(), "dc1", settings("extend-cache"));
    await expect(Promise.resolve(resolve("3f0c7f2a-0000-4000-8000-000000000000"))).rejects.toThrow("ACL not found");
  });

  test("servers down, extend-cache: a token seen keeps its rights past token_ttl; one never seen is denied", async () => {
    down = false;
    let now = 1_000_000;
    const resolve = remoteResolver(servers(), "dc1", settings("extend-cache"), () => now);
    expect(await canWrite(resolve(secret), "app/x")).toBe(true);
    down = true;
    now += 60_000;
    calls = 0;
    expect(await canWrite(resolve(secret), "app/x")).toBe(true);
    expect(await canWrite(resolve(secret), "other/x")).toBe(false);
    // Extended for another token_ttl, as Consul re-caches it: no second call meanwhile.
    expect(calls).toBe(1);
    expect(await canWrite(resolve(ROOT), "app/x")).toBe(false);
  });

  test("servers down, deny: everything is denied, cached or not; allow: everything is allowed", async () => {
    for (const policy of ["deny", "allow"] as const) {
      down = false;
      let now = 1_000_000;
      const resolve = remoteResolver(servers(), "dc1", settings(policy), () => now);
      expect(await canWrite(resolve(secret), "app/x")).toBe(true);
      down = true;
      now += 60_000;
      expect(await canWrite(resolve(secret), "app/x")).toBe(policy === "allow");
      expect(await canWrite(resolve(secret), "other/x")).toBe(policy === "allow");
      expect(await canWrite(resolve(ROOT), "anything")).toBe(policy === "allow");
    }
  });

  test("async-cache: past token_ttl the cached answer comes at once and the refresh runs behind it", async () => {
    down = false;
    let now = 1_000_000;
    const resolve = remoteResolver(servers(), "dc1", settings("async-cache"), () => now);
    expect(await canWrite(resolve(secret), "app/x")).toBe(true);
    await h.json("PUT", `/v1/acl/policy/${policyId}`, { token: ROOT, body: { Name: "app", Rules: 'key_prefix "app/" { policy = "read" }' } });
    now += 31_000;
    calls = 0;
    const first = resolve(secret);
    expect(first instanceof Promise).toBe(false);
    expect(await canWrite(first, "app/x")).toBe(true);
    expect(calls).toBe(1);
    await Bun.sleep(20);
    expect(await canWrite(resolve(secret), "app/x")).toBe(false);
    await h.json("PUT", `/v1/acl/policy/${policyId}`, { token: ROOT, body: { Name: "app", Rules: 'key_prefix "app/" { policy = "write" }' } });
  });
});
