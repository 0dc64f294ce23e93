/**
 * The agent's leaf certificate cache against a real server (in-process RPC)
 * on a fake clock that starts at the real time: sharing, the 60-90% renewal
 * window, blocking reads that wake on renewal, re-issue after a root
 * rotation, rate-limited renewals, and shutdown.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { FakeClock, settle } from "../_fake_clock.ts";
import { verifies } from "../connect/_openssl.ts";
import { LeafCerts } from "../../src/agent/leaf_certs.ts";
import { certInfo, hexString, importPrivateKeyPem, keyId, RateLimitedError } from "../../src/connect/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc, type Rpc } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { caRoots } from "../../src/state/mod.ts";

const HOUR = 3_600_000;
const MIN = 60_000;

interface Setup {
  server: Server;
  clock: FakeClock;
  leaves: LeafCerts;
  random: { value: number };
  /** When set, ConnectCA.Sign fails with this error. */
  failSign: { error: Error | null };
  signs: () => number;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(opts: { caChangeJitterMs?: number; idleTtlMs?: number } = {}): Promise<Setup> {
  const clock = new FakeClock(Date.now());
  const server = new Server({
    datacenter: "dc1",
    nodeName: "n1",
    nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
    advertiseAddr: "127.0.0.1",
    serverPort: 8300,
    log: new MemoryLog(),
    clock,
    // Rare timers, so the fake clock crosses days quickly.
    tombstoneTtlMs: 10_000 * HOUR,
    coordinates: { periodMs: 10_000 * HOUR },
    connect: { clusterId: "11111111-2222-3333-4444-555555555555", pruneIntervalMs: 10_000 * HOUR, caConfig: { CSRMaxPerSecond: 0 } },
  });
  await server.start();
  cleanups.push(() => server.stop());
  const inner = inProcessRpc(server);
  const failSign: { error: Error | null } = { error: null };
  let signs = 0;
  const rpc: Rpc = {
    call(method, args, o) {
      if (method === "ConnectCA.Sign") {
        signs++;
        if (failSign.error) return Promise.reject(failSign.error);
      }
      return inner.call(method, args, o);
    },
  };
  const random = { value: 0.5 };
  const leaves = new LeafCerts({ rpc, datacenter: "dc1", clock, random: () => random.value, ...opts });
  cleanups.push(async () => leaves.stop());
  return { server, clock, leaves, random, failSign, signs: () => signs };
}

const now = { minIndex: 0, waitMs: 0 };
const rootsPem = (s: Server) => caRoots(s.state.t).value.map((r) => r.RootCert).join("");
const activeKeyId = (s: Server) => caRoots(s.state.t).value.find((r) => r.Active)!.SigningKeyID;

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe("issuing", () => {
  test("concurrent callers share one CSR; the private key matches the certificate and the chain verifies", async () => {
    const s = await setup();
    const [a, b, c] = await Promise.all([s.leaves.get("web", now), s.leaves.get("web", now), s.leaves.get("web", now)]);
    expect(s.signs()).toBe(1);
    expect(b!.value.SerialNumber).toBe(a!.value.SerialNumber);
    expect(c!.index).toBe(a!.index);
    const again = await s.leaves.get("web", now);
    expect(again.value.SerialNumber).toBe(a!.value.SerialNumber);
    expect(s.signs()).toBe(1);
    const cert = a!.value;
    expect(cert.Service).toBe("web");
    expect(cert.ServiceURI).toBe("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web");
    expect(cert.PrivateKeyPEM!.startsWith("-----BEGIN EC PRIVATE KEY-----")).toBe(true);
    const key = await importPrivateKeyPem(cert.PrivateKeyPEM!);
    const info = await certInfo(cert.CertPEM);
    expect(info.subjectKeyId).toBe(hexString(await keyId(key.publicKey)));
    expect(verifies(cert.CertPEM, rootsPem(s.server)).ok).toBe(true);
    // Another service gets its own certificate.
    const db = await s.leaves.get("db", now);
    expect(db.value.Service).toBe("db");
    expect(s.signs()).toBe(2);
  });

  test("a failed first fetch is the caller's error and the next call tries again", async () => {
    const s = await setup();
    s.failSign.error = new Error("no leader");
    await expect(s.leaves.get("web", now)).rejects.toThrow("no leader");
    s.failSign.error = null;
    expect((await s.leaves.get("web", now)).value.Service).toBe("web");
  });
});

describe("renewal", () => {
  test("happens at a random point between 60% and 90% of the lifetime, and wakes a blocking read", async () => {
    const s = await setup();
    s.random.value = 0.5;
    const first = await s.leaves.get("web", now);
    const after = Date.parse(first.value.ValidAfter);
    const life = Date.parse(first.value.ValidBefore) - after;
    expect(life).toBe(72 * HOUR);
    // 0.5 of the way from 60% to 90% is 75%: nothing before it.
    await s.clock.advance(after + 0.75 * life - 2 * MIN - s.clock.now());
    expect(s.signs()).toBe(1);
    let woke = false;
    const blocked = s.leaves.get("web", { minIndex: first.index, waitMs: 10 * MIN }).then((r) => ((woke = true), r));
    await settle();
    expect(woke).toBe(false);
    await s.clock.advance(4 * MIN);
    await until(() => woke, "the blocking read to wake");
    const renewed = await blocked;
    expect(s.signs()).toBe(2);
    expect(renewed.index).toBeGreaterThan(first.index);
    expect(renewed.value.SerialNumber).not.toBe(first.value.SerialNumber);
    expect(renewed.value.PrivateKeyPEM).not.toBe(first.value.PrivateKeyPEM);
  });

  test("the window's edges: random 0 renews at 60%, random near 1 just before 90%", async () => {
    for (const [r, frac] of [
      [0, 0.6],
      [0.999, 0.8997],
    ] as const) {
      const s = await setup();
      s.random.value = r;
      const first = await s.leaves.get("web", now);
      const after = Date.parse(first.value.ValidAfter);
      const life = Date.parse(first.value.ValidBefore) - after;
      await s.clock.advance(after + frac * life - MIN - s.clock.now());
      expect(s.signs()).toBe(1);
      await s.clock.advance(2 * MIN);
      await until(() => s.signs() === 2, `renewal at ${frac}`);
    }
  });

  test("a blocking read with nothing new answers the same certificate when its wait runs out", async () => {
    const s = await setup();
    const first = await s.leaves.get("web", now);
    let done = false;
    const blocked = s.leaves.get("web", { minIndex: first.index, waitMs: 5_000 }).then((r) => ((done = true), r));
    await s.clock.advance(4_000);
    expect(done).toBe(false);
    // 5s plus up to 1/16 jitter (random 0.5: 156ms).
    await s.clock.advance(1_200);
    await until(() => done, "the wait to run out");
    expect((await blocked).index).toBe(first.index);
    expect(s.signs()).toBe(1);
  });

  test("a rate-limited renewal keeps the certificate and retries in the next window", async () => {
    const s = await setup();
    s.random.value = 0;
    const first = await s.leaves.get("web", now);
    const after = Date.parse(first.value.ValidAfter);
    const life = Date.parse(first.value.ValidBefore) - after;
    s.failSign.error = new RateLimitedError();
    // The renewal was set for 60% when the certificate came; the retry draws its point of the window now.
    s.random.value = 0.5;
    await s.clock.advance(after + 0.6 * life + 1_000 - s.clock.now());
    await until(() => s.signs() === 2, "the refused renewal");
    expect((await s.leaves.get("web", now)).value.SerialNumber).toBe(first.value.SerialNumber);
    s.failSign.error = null;
    // Retry at a random point of the next 30s window (0.5: after 15s).
    await s.clock.advance(13_000);
    expect(s.signs()).toBe(2);
    await s.clock.advance(2_000);
    await until(() => s.signs() === 3, "the retried renewal");
    expect((await s.leaves.get("web", now)).value.SerialNumber).not.toBe(first.value.SerialNumber);
  });

  test("an entry nobody asked for in 3 days is dropped instead of renewed", async () => {
    const s = await setup({ idleTtlMs: 10 * HOUR });
    s.random.value = 0;
    await s.leaves.get("web", now);
    await s.clock.advance(0.6 * 72 * HOUR + MIN);
    expect(s.signs()).toBe(1);
    expect(s.leaves.cached).toEqual([]);
  });
});

describe("root rotation", () => {
  test("every cached leaf is re-issued within the jitter window, and old and new leaves validate against the roots", async () => {
    const s = await setup({ caChangeJitterMs: 30_000 });
    s.random.value = 0.5;
    const web1 = (await s.leaves.get("web", now)).value;
    const db1 = (await s.leaves.get("db", now)).value;
    const oldKey = activeKeyId(s.server);
    expect((await certInfo(web1.CertPEM)).authorityKeyId).toBe(oldKey);
    await s.server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: false });
    const newKey = activeKeyId(s.server);
    expect(newKey).not.toBe(oldKey);
    // The agent's roots cache hears of the change through its blocking query.
    await until(() => s.leaves.roots.value?.Roots.length === 2, "the roots cache to see the new root");
    expect(s.signs()).toBe(2);
    await s.clock.advance(14_000);
    expect(s.signs()).toBe(2);
    await s.clock.advance(2_000);
    await until(() => s.signs() === 4, "both leaves to be re-issued");
    const web2 = (await s.leaves.get("web", now)).value;
    const db2 = (await s.leaves.get("db", now)).value;
    expect((await certInfo(web2.CertPEM)).authorityKeyId).toBe(newKey);
    expect((await certInfo(db2.CertPEM)).authorityKeyId).toBe(newKey);
    expect(s.signs()).toBe(4);
    const roots = rootsPem(s.server);
    for (const cert of [web1, db1, web2, db2]) expect(verifies(cert.CertPEM, roots).ok).toBe(true);
    // Peers that still have only the old root accept new leaves through the chain they carry.
    const oldRoot = caRoots(s.server.state.t).value.find((r) => !r.Active)!.RootCert;
    expect(verifies(web2.CertPEM, oldRoot, { untrusted: web2.CertPEM }).ok).toBe(true);
  });

  test("a non-blocking read right after a rotation gets a leaf of the new root at once", async () => {
    const s = await setup({ caChangeJitterMs: 30_000 });
    const before = (await s.leaves.get("web", now)).value;
    await s.server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: false });
    await until(() => s.leaves.roots.value?.Roots.length === 2, "the roots cache to see the new root");
    const after = (await s.leaves.get("web", now)).value;
    expect(after.SerialNumber).not.toBe(before.SerialNumber);
    expect((await certInfo(after.CertPEM)).authorityKeyId).toBe(activeKeyId(s.server));
  });

  test("the agent's roots query blocks on the cache index and wakes on the rotation", async () => {
    const s = await setup();
    const first = await s.leaves.rootsQuery(now);
    expect(first.value.Roots).toHaveLength(1);
    let done = false;
    const blocked = s.leaves.rootsQuery({ minIndex: first.index, waitMs: 60_000 }).then((r) => ((done = true), r));
    await settle();
    expect(done).toBe(false);
    await s.server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: false });
    const r = await blocked;
    expect(r.index).toBeGreaterThan(first.index);
    expect(r.value.Roots).toHaveLength(2);
  });
});

test("stop wakes blocked readers and stops renewals", async () => {
  const s = await setup();
  const first = await s.leaves.get("web", now);
  let done = false;
  const blocked = s.leaves.get("web", { minIndex: first.index, waitMs: 60_000 }).then(() => (done = true));
  await settle();
  s.leaves.stop();
  await blocked;
  expect(done).toBe(true);
  await s.clock.advance(80 * HOUR);
  expect(s.signs()).toBe(1);
});
