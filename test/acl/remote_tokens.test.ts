/**
 * A secondary's cache of tokens resolved by the primary (src/server/acl_remote.ts)
 * against a scripted primary: token_ttl, concurrent lookups shared, unknown
 * tokens not kept, and each down_policy when the primary does not answer.
 */
import { describe, expect, test } from "bun:test";
import { ACLNotFoundError } from "../../src/acl/mod.ts";
import { RemoteTokens, type RemoteTokenSettings } from "../../src/server/acl_remote.ts";
import type { ResolvedToken } from "../../src/server/acl.ts";
import type { Rpc } from "../../src/rpc/types.ts";

const KNOWN: ResolvedToken = { AccessorID: "acc-1", Rules: [{ key_prefix: [{ Name: "app/", Policy: "write" }] }], ExpiresAt: 0 };

function primary() {
  const p = { up: true, calls: 0, rules: KNOWN };
  const rpc: Rpc = {
    call: (async (_m: string, _a: unknown, o: { datacenter: string; token?: string }) => {
      p.calls++;
      await Bun.sleep(5);
      if (!p.up) throw new Error("rpc error making call: no path to datacenter");
      if (o.datacenter !== "dc1") throw new Error("wrong datacenter");
      if (o.token !== "secret-1") throw new ACLNotFoundError();
      return p.rules;
    }) as Rpc["call"],
  };
  return { p, up: { rpc, datacenter: "dc1" } };
}

function cache(downPolicy: RemoteTokenSettings["downPolicy"], defaultPolicy: "allow" | "deny" = "deny") {
  const clock = { t: 1_000_000 };
  const r = new RemoteTokens({ defaultPolicy, downPolicy, tokenTtlMs: 30_000 }, () => clock.t);
  return { r, clock };
}

const canWriteApp = (r: RemoteTokens, secret: string) => r.get(secret)!.authz.allowed("key", "write", "app/x");

describe("RemoteTokens", () => {
  test("asks the primary once (concurrent lookups share the call), keeps the answer for token_ttl, asks again after", async () => {
    const { p, up } = primary();
    const { r, clock } = cache("extend-cache");
    await Promise.all([r.pending("secret-1", up), r.pending("secret-1", up)]);
    expect(p.calls).toBe(1);
    expect(r.get("secret-1")!.resolved?.AccessorID).toBe("acc-1");
    expect(canWriteApp(r, "secret-1")).toBe(true);
    expect(r.get("secret-1")!.authz.allowed("key", "write", "other/x")).toBe(false);
    clock.t += 29_000;
    expect(r.pending("secret-1", up)).toBeNull();
    clock.t += 2_000;
    p.rules = { ...KNOWN, Rules: [] };
    await r.pending("secret-1", up);
    expect(p.calls).toBe(2);
    expect(canWriteApp(r, "secret-1")).toBe(false);
  });

  test("an unknown token is not kept: each lookup asks again", async () => {
    const { p, up } = primary();
    const { r } = cache("extend-cache");
    await r.pending("nope", up);
    await r.pending("nope", up);
    expect(r.get("nope")).toBeUndefined();
    expect(p.calls).toBe(2);
  });

  test("extend-cache: a token seen keeps its rights while the primary is down; one never seen gets the default policy", async () => {
    const { p, up } = primary();
    const { r, clock } = cache("extend-cache", "deny");
    await r.pending("secret-1", up);
    p.up = false;
    clock.t += 31_000;
    await r.pending("secret-1", up);
    expect(canWriteApp(r, "secret-1")).toBe(true);
    expect(r.get("secret-1")!.resolved).not.toBeNull();
    // Extended for another TTL: no new call meanwhile.
    const calls = p.calls;
    clock.t += 10_000;
    expect(r.pending("secret-1", up)).toBeNull();
    expect(p.calls).toBe(calls);
    await r.pending("other", up);
    expect(r.get("other")!.resolved).toBeNull();
    expect(r.get("other")!.authz.allowed("key", "read", "app/x")).toBe(false);
    // The primary is back: the down answer stands a second, then the primary is asked again.
    p.up = true;
    clock.t += 1_500;
    await r.pending("other", up);
    expect(r.get("other")).toBeUndefined();
  });

  test("deny and allow: the primary down, every token gets that answer, seen or not", async () => {
    for (const policy of ["deny", "allow"] as const) {
      const { p, up } = primary();
      const { r, clock } = cache(policy, "deny");
      await r.pending("secret-1", up);
      p.up = false;
      clock.t += 31_000;
      await r.pending("secret-1", up);
      expect(r.get("secret-1")!.resolved).toBeNull();
      expect(r.get("secret-1")!.authz.allowed("key", "write", "other/x")).toBe(policy === "allow");
      expect(canWriteApp(r, "secret-1")).toBe(policy === "allow");
    }
  });

  test("async-cache: past token_ttl the cached answer is used at once and refreshed behind it", async () => {
    const { p, up } = primary();
    const { r, clock } = cache("async-cache");
    await r.pending("secret-1", up);
    clock.t += 31_000;
    p.rules = { ...KNOWN, Rules: [] };
    expect(r.pending("secret-1", up)).toBeNull();
    expect(canWriteApp(r, "secret-1")).toBe(true);
    const end = Date.now() + 2_000;
    while (canWriteApp(r, "secret-1") && Date.now() < end) await Bun.sleep(5);
    expect(canWriteApp(r, "secret-1")).toBe(false);
  });
});
