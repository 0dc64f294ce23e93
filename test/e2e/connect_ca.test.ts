/**
 * The Connect CA end to end: a server agent and a client agent as real
 * processes. Leaves come from each agent's cache (the client's CSR is signed
 * over the server RPC port); `openssl x509` reads the SPIFFE URI SAN and
 * `openssl verify` checks the leaf against the roots the API hands out.
 * Then a root rotation through PUT /v1/connect/ca/configuration with a key
 * made by openssl: old and new leaves both validate against the roots list
 * during the change, a peer holding only the old root accepts a new leaf
 * through its cross-signed chain, and the agents re-issue every cached leaf.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { spawn } from "node:child_process";
import { type AgentProcess, BUN, freePort, ROOT, startAgent, tempDir } from "./_agent.ts";
import { openssl, verifies } from "../connect/_openssl.ts";
import { Client, type LeafCert } from "../../src/api/mod.ts";

const CLUSTER = "7f42f496-fbc7-8692-05ed-334aa5340c1e";
const agents = new Map<string, { proc: AgentProcess; api: Client }>();
const cleanups: (() => Promise<unknown>)[] = [];

const api = (name: string): Client => agents.get(name)!.api;
let workDir = "";

function cli(name: string, ...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(BUN, [join(ROOT, "src/cli/main.ts"), ...args.slice(0, 3), "-http-addr", agents.get(name)!.proc.base, ...args.slice(3)], { cwd: ROOT });
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.once("close", (code) => resolve({ code, out, err })));
}

async function waitFor(what: string, cond: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  while (Date.now() < deadline) {
    try {
      if (await cond()) return;
    } catch (err) {
      last = err;
    }
    await Bun.sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

beforeAll(async () => {
  const dir = await tempDir("consulate-ca-");
  cleanups.push(() => dir.remove());
  workDir = dir.path;
  const serf = await freePort();
  // Consul's agent config for the CA: snake_case ca_config keys, a fixed cluster ID.
  const config = join(dir.path, "connect.json");
  await writeFile(config, JSON.stringify({ connect: { enabled: true, ca_provider: "consul", ca_config: { cluster_id: CLUSTER, leaf_cert_ttl: "24h" } } }));
  const start = async (name: string, extra: string[]) => {
    const proc = await startAgent(["-node", name, "-data-dir", join(dir.path, name), ...extra]);
    cleanups.push(() => proc.kill());
    agents.set(name, { proc, api: new Client({ address: proc.base }) });
  };
  await start("srv", ["-server", "-bootstrap", "-serf-lan-port", String(serf), "-config-file", config]);
  await start("cli", ["-join", `127.0.0.1:${serf}`]);
  // The client answers once it knows a server to forward to.
  await waitFor("the client to reach the server", async () => (await api("cli").connectCA().caRoots())[0].Roots.length === 1);
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

const leafOf = async (agent: string, service: string): Promise<LeafCert> => (await api(agent).agent().connectCALeaf(service))[0];
const x509Text = (pem: string) => openssl(["x509", "-in", "{c.pem}", "-noout", "-text"], { "c.pem": pem }).out;
const authorityKeyId = (pem: string) => /Authority Key Identifier:\s*\n\s*([0-9A-F:]+)/.exec(x509Text(pem))?.[1]?.toLowerCase() ?? "";

let before: { web: LeafCert; db: LeafCert; oldRootPem: string } | null = null;

test("a leaf from each agent: openssl shows the SPIFFE URI SAN and verifies it against the roots", async () => {
  const roots = (await api("srv").connectCA().caRoots())[0];
  expect(roots.TrustDomain).toBe(`${CLUSTER}.consul`);
  expect((await api("srv").connectCA().caGetConfig())[0].Config).toEqual({ LeafCertTTL: "24h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" });
  const got = await cli("cli", "connect", "ca", "get-config");
  expect(got.code).toBe(0);
  expect(got.out).toStartWith('{\n\t"Provider": "consul",\n\t"Config": {\n\t\t"IntermediateCertTTL": "8760h",\n\t\t"LeafCertTTL": "24h",');
  // The client agent's cached roots are the server's.
  expect((await api("cli").agent().connectCARoots())[0].ActiveRootID).toBe(roots.ActiveRootID);

  const web = await leafOf("srv", "web");
  const db = await leafOf("cli", "db");
  expect(web.ServiceURI).toBe(`spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/web`);
  expect(db.ServiceURI).toBe(`spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/db`);
  const text = x509Text(web.CertPEM);
  expect(text).toContain(`URI:spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/web`);
  expect(x509Text(db.CertPEM)).toContain(`URI:spiffe://${roots.TrustDomain}/ns/default/dc/dc1/svc/db`);
  // The configured leaf TTL.
  expect(Date.parse(web.ValidBefore) - Date.parse(web.ValidAfter)).toBe(24 * 3_600_000);

  const pem = await api("cli").connectCA().caRootsPem();
  expect(verifies(web.CertPEM, pem).ok).toBe(true);
  expect(verifies(db.CertPEM, pem).ok).toBe(true);
  // The private key is the certificate's: openssl derives the same public key from both.
  const fromKey = openssl(["pkey", "-in", "{k.pem}", "-pubout"], { "k.pem": db.PrivateKeyPEM }).out;
  const fromCert = openssl(["x509", "-in", "{c.pem}", "-noout", "-pubkey"], { "c.pem": db.CertPEM }).out;
  expect(fromKey).toContain("BEGIN PUBLIC KEY");
  expect(fromKey).toBe(fromCert);
  // Asking again answers the cached certificate.
  expect((await leafOf("cli", "db")).SerialNumber).toBe(db.SerialNumber);
  before = { web, db, oldRootPem: roots.Roots[0]!.RootCert };
}, 30_000);

test("root rotation: both generations validate during the change, and every cached leaf is re-issued", async () => {
  expect(before).not.toBeNull();
  const { web, db, oldRootPem } = before!;
  const key = openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout"], {}).out;
  expect(key).toContain("BEGIN EC PRIVATE KEY");
  // `consulate connect ca set-config` on the client agent, which forwards the change to the server like any write.
  const file = join(workDir, "ca.json");
  await writeFile(file, JSON.stringify({ Provider: "consul", Config: { LeafCertTTL: "72h", PrivateKey: key } }));
  const set = await cli("cli", "connect", "ca", "set-config", "-config-file", file);
  expect(set.err).toBe("");
  expect(set.out).toBe("Configuration updated!\n");
  const bad = await cli("cli", "connect", "ca", "set-config", "-config-file", join(workDir, "missing.json"));
  expect(bad.code).toBe(1);
  expect(bad.err).toStartWith("Error reading config file: ");

  const roots = (await api("srv").connectCA().caRoots())[0];
  expect(roots.Roots).toHaveLength(2);
  const active = roots.Roots.find((r) => r.Active)!;
  expect(roots.Roots.find((r) => !r.Active)!.RootCert).toBe(oldRootPem);
  expect(active.IntermediateCerts).toHaveLength(1);
  // The key given is never answered back.
  expect(JSON.stringify((await api("srv").connectCA().caGetConfig())[0])).not.toContain("PRIVATE KEY");

  // Both agents see the new roots; a read of a cached leaf now gets one of the new root.
  await waitFor("the client's roots cache to see the new root", async () => (await api("cli").agent().connectCARoots())[0].ActiveRootID === active.ID);
  const web2 = await leafOf("srv", "web");
  const db2 = await leafOf("cli", "db");
  expect(web2.SerialNumber).not.toBe(web.SerialNumber);
  expect(db2.SerialNumber).not.toBe(db.SerialNumber);
  expect(authorityKeyId(web2.CertPEM)).toBe(active.SigningKeyID);
  expect(authorityKeyId(db2.CertPEM)).toBe(active.SigningKeyID);
  expect(authorityKeyId(db.CertPEM)).not.toBe(active.SigningKeyID);

  // During the change the roots list trusts leaves of either root.
  const pem = await api("srv").connectCA().caRootsPem();
  for (const leaf of [web, db, web2, db2]) expect(verifies(leaf.CertPEM, pem).ok).toBe(true);
  // A peer that has not seen the new root yet accepts a new leaf through the cross-signed certificate it carries.
  expect(verifies(db2.CertPEM, oldRootPem).ok).toBe(false);
  expect(verifies(db2.CertPEM, oldRootPem, { untrusted: db2.CertPEM }).ok).toBe(true);
}, 30_000);
