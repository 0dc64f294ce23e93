/**
 * The servers' CA: bootstrap, signing checks and limits, rotation with
 * cross-signing, pruning, and persistence through snapshots. A real Server
 * on a MemoryLog with a fake clock that starts at the real time (so openssl
 * can check validity dates as of now).
 */
import { afterEach, describe, expect, test } from "bun:test";
import { verifies } from "./_openssl.ts";
import { FakeClock } from "../_fake_clock.ts";
import { certInfo, createCsr, generateKeyPair, RateLimitedError } from "../../src/connect/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { CsrLimiter } from "../../src/server/csr_limiter.ts";
import * as connectCAEndpoint from "../../src/server/endpoints/connect_ca.ts";
import { type ConnectOptions, Server } from "../../src/server/mod.ts";
import { defaultOptions } from "../../src/rpc/mod.ts";
import { caConfig, caRoots, StateStore } from "../../src/state/mod.ts";
import { toJson } from "../../src/structs/json.ts";

const CLUSTER = "11111111-2222-3333-4444-555555555555";
const TD = `${CLUSTER}.consul`;
const HOUR = 3_600_000;

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
});

async function start(connect: ConnectOptions = {}): Promise<{ server: Server; clock: FakeClock }> {
  const clock = new FakeClock(Date.now());
  const server = new Server({
    datacenter: "dc1",
    nodeName: "n1",
    nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
    advertiseAddr: "127.0.0.1",
    serverPort: 8300,
    log: new MemoryLog(),
    clock,
    // Timers tick rarely so the fake clock can cross hours quickly.
    tombstoneTtlMs: 100 * HOUR,
    coordinates: { periodMs: 10_000 * HOUR },
    // The CSR rate limit waits on the clock; tests that want it set it.
    connect: { clusterId: CLUSTER, pruneIntervalMs: 30 * 60_000, ...connect, caConfig: { CSRMaxPerSecond: 0, ...connect.caConfig } },
  });
  servers.push(server);
  await server.start();
  return { server, clock };
}

async function csrFor(uri: string): Promise<string> {
  return createCsr({ uri, keys: await generateKeyPair() });
}

const webUri = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;

function rootsPem(server: Server): string {
  return caRoots(server.state.t).value.map((r) => r.RootCert).join("");
}

describe("bootstrap", () => {
  test("a new cluster gets its trust domain, default config and one active root", async () => {
    const { server } = await start();
    const roots = connectCAEndpoint.readRoots(server).value;
    expect(roots.TrustDomain).toBe(TD);
    expect(roots.Roots).toHaveLength(1);
    const r = roots.Roots[0]!;
    expect(r.Active).toBe(true);
    expect(roots.ActiveRootID).toBe(r.ID);
    expect(r.Name).toBe("Consul CA Primary Cert");
    expect(r.PrivateKeyType).toBe("ec");
    expect(r.PrivateKeyBits).toBe(256);
    expect(r.ExternalTrustDomain).toBe(CLUSTER);
    expect(r.IntermediateCerts).toBeNull();
    expect(r.NotBefore).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Date.parse(r.NotAfter) - Date.parse(r.NotBefore)).toBe(87600 * HOUR);
    // The signing key is in state but never in what the endpoint answers.
    expect(toJson(roots)).not.toContain("PRIVATE KEY");
    expect(caRoots(server.state.t).value[0]!.SigningKey).toContain("PRIVATE KEY");
    expect(caConfig(server.state.t).value!.Config).toEqual({ LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h", CSRMaxPerSecond: 0 });
  });

  test("a cluster ID is made up when none is configured, and kept across restart from a snapshot", async () => {
    const clock = new FakeClock(Date.now());
    const server = new Server({ datacenter: "dc1", nodeName: "n1", nodeId: "x", advertiseAddr: "127.0.0.1", serverPort: 8300, log: new MemoryLog(), clock });
    // Consul's defaults when nothing is configured.
    expect(caConfig(server.state.t).value).toBeNull();
    servers.push(server);
    await server.start();
    const before = connectCAEndpoint.readRoots(server).value;
    expect(before.TrustDomain).toMatch(/^[0-9a-f-]{36}\.consul$/);
    expect(caConfig(server.state.t).value!.Config).toEqual({ LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" });
    const copy = new StateStore();
    copy.restore(server.state.snapshot());
    expect(caRoots(copy.t).value).toEqual(caRoots(server.state.t).value);
    expect(caConfig(copy.t).value).toEqual(caConfig(server.state.t).value);
    // Bootstrapping again over existing state makes no new root.
    const index = server.lastIndex();
    await server.ca.initialize();
    expect(server.lastIndex()).toBe(index);
  });

  test("a server restarted on its log keeps its trust domain, root and key, and signs with them", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { LocalLog } = await import("../../src/log/mod.ts");
    const dir = await mkdtemp(join(tmpdir(), "ca-restart-"));
    try {
      const make = () =>
        new Server({ datacenter: "dc1", nodeName: "n1", nodeId: "x", advertiseAddr: "127.0.0.1", serverPort: 8300, log: new LocalLog({ dir }), connect: { caConfig: { CSRMaxPerSecond: 0 } } });
      const first = make();
      await first.start();
      const before = connectCAEndpoint.readRoots(first).value;
      await first.stop();
      const second = make();
      servers.push(second);
      await second.start();
      const after = connectCAEndpoint.readRoots(second).value;
      expect(after.TrustDomain).toBe(before.TrustDomain);
      expect(after.Roots.map((r) => r.ID)).toEqual(before.Roots.map((r) => r.ID));
      const leaf = await connectCAEndpoint.sign(second, { CSR: await createCsr({ uri: `spiffe://${after.TrustDomain}/ns/default/dc/dc1/svc/web`, keys: await generateKeyPair() }) });
      expect(verifies(leaf.CertPEM, after.Roots[0]!.RootCert).ok).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("with Connect off the endpoints say so", async () => {
    const { server } = await start({ enabled: false });
    expect(caRoots(server.state.t).value).toHaveLength(0);
    await expect((async () => connectCAEndpoint.roots(server, {}, defaultOptions("dc1")))()).rejects.toThrow(
      "Connect must be enabled in order to use this endpoint",
    );
  });

  test("an invalid initial configuration is refused and retried, not half-stored", async () => {
    const { server } = await start({ caConfig: { LeafCertTTL: "1m" }, initRetryMs: 1000 });
    expect(server.ca.lastInitError?.message).toBe("error configuring provider: leaf cert TTL must be greater or equal than 1h0m0s");
    expect(caRoots(server.state.t).value).toHaveLength(0);
    expect(caConfig(server.state.t).value).toBeNull();
  });
});

describe("signing", () => {
  test("a service CSR becomes a leaf of the active root with Consul's IssuedCert fields", async () => {
    const { server } = await start();
    const cert = await connectCAEndpoint.sign(server, { CSR: await csrFor(webUri) });
    expect(cert.Service).toBe("web");
    expect(cert.ServiceURI).toBe(webUri);
    expect(cert.CreateIndex).toBe(cert.ModifyIndex);
    expect(cert.ModifyIndex).toBe(server.lastIndex());
    const info = await certInfo(cert.CertPEM);
    expect(cert.SerialNumber).toBe([...info.serial.toString(16).padStart(2, "0").match(/../g)!].join(":"));
    expect(Date.parse(cert.ValidBefore) - Date.parse(cert.ValidAfter)).toBe(72 * HOUR);
    expect(verifies(cert.CertPEM, rootsPem(server)).ok).toBe(true);
    // Serials increase with every certificate.
    const next = await connectCAEndpoint.sign(server, { CSR: await csrFor(webUri) });
    expect((await certInfo(next.CertPEM)).serial).toBeGreaterThan(info.serial);
  });

  test("wrong trust domain, wrong datacenter and non-service IDs are refused with Consul's texts", async () => {
    const { server } = await start();
    const sign = async (uri: string) => connectCAEndpoint.sign(server, { CSR: await csrFor(uri) });
    await expect(sign("spiffe://other.consul/ns/default/dc/dc1/svc/web")).rejects.toThrow(
      `SPIFFE ID in CSR from a different trust domain: other.consul, we are ${TD}`,
    );
    await expect(sign(`spiffe://${TD}/ns/default/dc/dc9/svc/web`)).rejects.toThrow("SPIFFE ID in CSR from a different datacenter: dc9, we are dc1");
    await expect(sign(`spiffe://${TD}`)).rejects.toThrow("SPIFFE ID in CSR must be a service, mesh-gateway, or agent ID");
    await expect(connectCAEndpoint.sign(server, { CSR: "nope" })).rejects.toThrow("no PEM-encoded data found");
  });

  test("agent CSRs with a placeholder trust domain are fixed up; mesh gateways get a Kind", async () => {
    const { server } = await start();
    const agent = await connectCAEndpoint.sign(server, { CSR: await csrFor("spiffe://dummy.consul/agent/client/dc/dc1/id/node-1") });
    expect(agent.Agent).toBe("node-1");
    expect(agent.AgentURI).toBe(`spiffe://${TD}/agent/client/dc/dc1/id/node-1`);
    expect((await certInfo(agent.CertPEM)).uris).toEqual([agent.AgentURI!]);
    const gw = await connectCAEndpoint.sign(server, { CSR: await csrFor(`spiffe://${TD}/gateway/mesh/dc/dc1`) });
    expect(gw.Kind).toBe("mesh-gateway");
    expect(gw.KindURI).toBe(`spiffe://${TD}/gateway/mesh/dc/dc1`);
  });

  test("CSRMaxPerSecond admits one request per interval and refuses those that would wait past 500ms", async () => {
    const { server, clock } = await start({ caConfig: { CSRMaxPerSecond: 4 } });
    const csr = await csrFor(webUri);
    const refused = "Rate limit reached, try again later";
    // Requests reach the limiter in whatever order their CSR checks finish; count outcomes, not positions.
    const outcomes: string[] = [];
    const all = Array.from({ length: 4 }, () =>
      connectCAEndpoint.sign(server, { CSR: csr }).then(
        () => outcomes.push("signed"),
        (err: Error) => outcomes.push(err.message),
      ),
    );
    for (let i = 0; i < 200 && outcomes.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    // Without the clock moving: one signed at once, one refused (it would wait 750ms), two waiting their turn.
    expect(outcomes.sort()).toEqual([refused, "signed"]);
    await clock.advance(100);
    expect(outcomes).toHaveLength(2);
    await clock.advance(600);
    await Promise.all(all);
    expect(outcomes.sort()).toEqual([refused, "signed", "signed", "signed"]);
  });

  test("the concurrency limiter hands a released slot to the next waiter and refuses after 500ms", async () => {
    const clock = new FakeClock(Date.now());
    const limiter = new CsrLimiter(clock);
    const limits = { perSecond: 0, maxConcurrent: 1 };
    const first = await limiter.acquire(limits);
    const second = limiter.acquire(limits);
    const third = limiter.acquire(limits);
    const thirdOutcome = third.then(
      () => "admitted",
      (err: unknown) => err,
    );
    first();
    const releaseSecond = await second;
    await clock.advance(600);
    expect(await thirdOutcome).toBeInstanceOf(RateLimitedError);
    releaseSecond();
    (await limiter.acquire(limits))();
  });
});

describe("configuration and rotation", () => {
  test("a change that keeps the key only updates the config; the next leaf has the new TTL", async () => {
    const { server } = await start();
    const rootId = connectCAEndpoint.readRoots(server).value.ActiveRootID;
    await server.ca.updateConfiguration({ Provider: "consul", Config: { LeafCertTTL: "24h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" }, State: null, ForceWithoutCrossSigning: false });
    expect(connectCAEndpoint.readRoots(server).value.ActiveRootID).toBe(rootId);
    expect(caConfig(server.state.t).value!.Config.LeafCertTTL).toBe("24h");
    const cert = await connectCAEndpoint.sign(server, { CSR: await csrFor(webUri) });
    expect(Date.parse(cert.ValidBefore) - Date.parse(cert.ValidAfter)).toBe(24 * HOUR);
    // The same config again is a no-op: no log entry.
    const index = server.lastIndex();
    await server.ca.updateConfiguration({ Provider: "consul", Config: { LeafCertTTL: "24h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" }, State: null, ForceWithoutCrossSigning: false });
    expect(server.lastIndex()).toBe(index);
  });

  test("a new key rotates the root: the old root cross-signs the new, and leaves of both validate", async () => {
    const { server } = await start();
    const oldRoot = caRoots(server.state.t).value[0]!;
    const oldLeaf = await connectCAEndpoint.sign(server, { CSR: await csrFor(webUri) });
    await server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKeyType: "ec", PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: false });
    const roots = connectCAEndpoint.readRoots(server).value;
    expect(roots.Roots).toHaveLength(2);
    expect(roots.TrustDomain).toBe(TD);
    const [was, now] = roots.Roots;
    expect(was!.ID).toBe(oldRoot.ID);
    expect(was!.Active).toBe(false);
    expect(now!.Active).toBe(true);
    expect(roots.ActiveRootID).toBe(now!.ID);
    expect(now!.PrivateKeyBits).toBe(384);
    expect(now!.IntermediateCerts).toHaveLength(1);
    expect(caRoots(server.state.t).value[0]!.RotatedOutAt).toBeGreaterThan(0);

    const newLeaf = await connectCAEndpoint.sign(server, { CSR: await csrFor(`spiffe://${TD}/ns/default/dc/dc1/svc/db`) });
    // The new leaf comes with the cross-signed root attached.
    expect(newLeaf.CertPEM).toContain(now!.IntermediateCerts![0]!.trim());
    const all = rootsPem(server);
    expect(verifies(oldLeaf.CertPEM, all).ok).toBe(true);
    expect(verifies(newLeaf.CertPEM, all).ok).toBe(true);
    // A peer that still trusts only the old root accepts the new leaf through the chain it carries.
    expect(verifies(newLeaf.CertPEM, oldRoot.RootCert, { untrusted: newLeaf.CertPEM }).ok).toBe(true);
    expect(verifies(newLeaf.CertPEM, oldRoot.RootCert).ok).toBe(false);
  });

  test("ForceWithoutCrossSigning rotates without the cross-signed certificate", async () => {
    const { server } = await start();
    await server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: true });
    const roots = connectCAEndpoint.readRoots(server).value.Roots;
    expect(roots).toHaveLength(2);
    expect(roots[1]!.IntermediateCerts).toBeNull();
  });

  test("an operator's own key and root certificate become the active root", async () => {
    const { server } = await start();
    const { openssl } = await import("./_openssl.ts");
    const key = openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout"], {}).out;
    await server.ca.updateConfiguration({ Provider: "consul", Config: { PrivateKey: key }, State: null, ForceWithoutCrossSigning: false });
    const active = caRoots(server.state.t).value.find((r) => r.Active)!;
    expect(active.ProviderID).not.toBe(caRoots(server.state.t).value[0]!.ProviderID);
    const leaf = await connectCAEndpoint.sign(server, { CSR: await csrFor(webUri) });
    expect(verifies(leaf.CertPEM, active.RootCert).ok).toBe(true);
    // The private key is kept for signing but not answered by GET configuration.
    const got = await connectCAEndpoint.configurationGet(server, {}, defaultOptions("dc1"));
    expect(got.value.Config).toEqual({});
  });

  test("bad updates are refused and change nothing", async () => {
    const { server } = await start();
    const index = server.lastIndex();
    const update = (u: Partial<Parameters<Server["ca"]["updateConfiguration"]>[0]>) =>
      server.ca.updateConfiguration({ Provider: "consul", Config: {}, State: null, ForceWithoutCrossSigning: false, ...u });
    await expect(update({ Provider: "vault" })).rejects.toThrow('could not initialize provider: unknown CA provider "vault"');
    await expect(update({ Config: { LeafCertTTL: "10m" } })).rejects.toThrow("error configuring provider: leaf cert TTL must be greater or equal than 1h0m0s");
    await expect(update({ Config: { PrivateKey: "junk" } })).rejects.toThrow("error parsing private key");
    await expect(update({ State: { foo: "bar" } })).rejects.toThrow("Provider State is read-only. It must be omitted or identical to the current value");
    expect(server.lastIndex()).toBe(index);
    expect(caRoots(server.state.t).value).toHaveLength(1);
  });

  test("rotated-out roots are pruned once 2 x LeafCertTTL has passed", async () => {
    const { server, clock } = await start({ caConfig: { LeafCertTTL: "1h", IntermediateCertTTL: "8760h" } });
    await server.ca.updateConfiguration({ Provider: "consul", Config: { LeafCertTTL: "1h", IntermediateCertTTL: "8760h", PrivateKeyBits: 384 }, State: null, ForceWithoutCrossSigning: false });
    expect(caRoots(server.state.t).value).toHaveLength(2);
    // Pruning runs every 30 minutes; at the 2h tick the old root is a moment short of 2 x 1h.
    await clock.advance(2 * HOUR + 60_000);
    expect(caRoots(server.state.t).value).toHaveLength(2);
    await clock.advance(30 * 60_000);
    const left = caRoots(server.state.t).value;
    expect(left).toHaveLength(1);
    expect(left[0]!.Active).toBe(true);
  });
});
