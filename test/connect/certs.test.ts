/** The CA's certificate shapes, checked with our parser and with the real openssl. */
import { describe, expect, test } from "bun:test";
import { verifies, openssl } from "./_openssl.ts";
import {
  certInfo,
  createCsr,
  createRootCert,
  crossSignRoot,
  exportSec1Pem,
  generateKeyPair,
  importPrivateKeyPem,
  keyId,
  parseCsr,
  serialHex,
  signLeafCert,
  verifySignedBy,
} from "../../src/connect/mod.ts";
import { hexString } from "../../src/connect/pem.ts";

const CLUSTER = "11111111-2222-3333-4444-555555555555";
const TD = `${CLUSTER}.consul`;
const EC = { type: "ec", bits: 256 } as const;
const HOUR = 3_600_000;

async function root(serial: bigint, spec: { type: "ec" | "rsa"; bits: number } = EC) {
  const keys = await generateKeyPair(spec);
  const pem = await createRootCert({ keys, spec, clusterId: CLUSTER, serial, nowMs: Date.now(), ttlMs: 87600 * HOUR, uid: `u${serial}abcdefg` });
  return { keys, pem, spec };
}

async function leafFor(uri: string, ca: { keys: CryptoKeyPair; pem: string; spec: { type: "ec" | "rsa"; bits: number } }, serial: bigint) {
  const keys = await generateKeyPair();
  const csr = await parseCsr(await createCsr({ uri, keys }));
  const pem = await signLeafCert({ ...csr, caCertPem: ca.pem, caKey: ca.keys.privateKey, caSpec: ca.spec, serial, nowMs: Date.now(), ttlMs: 72 * HOUR });
  return { keys, pem };
}

describe("root certificate", () => {
  test("is a self-signed CA with Consul's CN, SPIFFE trust domain, matching SKID and AKID", async () => {
    const r = await root(7n);
    const info = await certInfo(r.pem);
    expect(info.isCA).toBe(true);
    expect(info.serial).toBe(7n);
    expect(info.uris).toEqual([`spiffe://${TD}`]);
    expect(info.subjectKeyId).toBe(hexString(await keyId(r.keys.publicKey)));
    expect(info.authorityKeyId).toBe(info.subjectKeyId);
    expect(info.notAfter.getTime() - info.notBefore.getTime()).toBe(87600 * HOUR);
    const text = openssl(["x509", "-in", "{r.pem}", "-noout", "-text"], { "r.pem": r.pem }).out;
    expect(text).toContain("Subject: CN = pri-u7abcdef.consul.ca.11111111.consul");
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Certificate Sign, CRL Sign/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:TRUE/);
    expect(verifies(r.pem, r.pem).ok).toBe(true);
  });

  test("RSA roots sign EC leaves that openssl accepts", async () => {
    const r = await root(1n, { type: "rsa", bits: 2048 });
    expect((await certInfo(r.pem)).spec).toEqual({ type: "rsa", bits: 2048 });
    const leaf = await leafFor(`spiffe://${TD}/ns/default/dc/dc1/svc/web`, r, 2n);
    expect(verifies(leaf.pem, r.pem).ok).toBe(true);
  });
});

describe("leaf certificate", () => {
  test("carries the SPIFFE URI SAN (critical, no subject), leaf key usages and key ids", async () => {
    const r = await root(1n);
    const uri = `spiffe://${TD}/ns/default/dc/dc1/svc/web`;
    const leaf = await leafFor(uri, r, 300n);
    const info = await certInfo(leaf.pem);
    expect(info.isCA).toBe(false);
    expect(info.uris).toEqual([uri]);
    expect(info.serial).toBe(300n);
    expect(info.subjectKeyId).toBe(hexString(await keyId(leaf.keys.publicKey)));
    expect(info.authorityKeyId).toBe(hexString(await keyId(r.keys.publicKey)));
    // Valid from a minute ago (clock drift) for the TTL.
    expect(info.notAfter.getTime() - info.notBefore.getTime()).toBe(72 * HOUR);
    expect(info.notBefore.getTime()).toBeLessThanOrEqual(Date.now() - 59_000);
    const text = openssl(["x509", "-in", "{l.pem}", "-noout", "-text"], { "l.pem": leaf.pem }).out;
    expect(text).toMatch(/Subject Alternative Name: critical\s+URI:spiffe:\/\/11111111-2222-3333-4444-555555555555\.consul\/ns\/default\/dc\/dc1\/svc\/web/);
    expect(text).toMatch(/Key Usage: critical\s+Digital Signature, Key Encipherment, Data Encipherment, Key Agreement/);
    expect(text).toMatch(/Extended Key Usage:\s+TLS Web Client Authentication, TLS Web Server Authentication/);
    expect(text).toMatch(/Basic Constraints: critical\s+CA:FALSE/);
    expect(verifies(leaf.pem, r.pem).ok).toBe(true);
  });

  test("a leaf does not verify against another CA", async () => {
    const a = await root(1n);
    const b = await root(2n);
    const leaf = await leafFor(`spiffe://${TD}/ns/default/dc/dc1/svc/web`, a, 3n);
    expect(verifies(leaf.pem, b.pem).ok).toBe(false);
    expect(await verifySignedBy(leaf.pem, b.pem)).toBe(false);
    expect(await verifySignedBy(leaf.pem, a.pem)).toBe(true);
  });
});

describe("cross-signing", () => {
  test("a new-root leaf chains to the old root through the cross-signed certificate", async () => {
    const old = await root(1n);
    const next = await root(2n, { type: "ec", bits: 384 });
    const xc = await crossSignRoot({ newRootPem: next.pem, oldRootPem: old.pem, oldKey: old.keys.privateKey, oldSpec: old.spec, serial: 3n, nowMs: Date.now() });
    const xi = await certInfo(xc);
    const ni = await certInfo(next.pem);
    expect(xi.subjectKeyId).toBe(ni.subjectKeyId);
    expect(xi.authorityKeyId).toBe((await certInfo(old.pem)).subjectKeyId);
    expect(xi.notAfter.getTime() - xi.notBefore.getTime()).toBe(7 * 24 * HOUR);
    const newLeaf = await leafFor(`spiffe://${TD}/ns/default/dc/dc1/svc/db`, next, 4n);
    const oldLeaf = await leafFor(`spiffe://${TD}/ns/default/dc/dc1/svc/web`, old, 5n);
    // Only the old root trusted: the new leaf needs the cross-signed cert, and has it.
    expect(verifies(newLeaf.pem, old.pem).ok).toBe(false);
    expect(verifies(newLeaf.pem, old.pem, { untrusted: xc }).ok).toBe(true);
    // Both roots trusted: both leaves verify directly.
    expect(verifies(newLeaf.pem, old.pem + next.pem).ok).toBe(true);
    expect(verifies(oldLeaf.pem, old.pem + next.pem).ok).toBe(true);
  });
});

describe("keys and CSRs", () => {
  test("SEC1 export is what openssl calls a valid EC key, and imports back to the same public key", async () => {
    const pair = await generateKeyPair();
    const sec1 = await exportSec1Pem(pair);
    expect(sec1.startsWith("-----BEGIN EC PRIVATE KEY-----\n")).toBe(true);
    expect(openssl(["ec", "-in", "{k.pem}", "-noout", "-check"], { "k.pem": sec1 }).out).toContain("EC Key valid");
    const back = await importPrivateKeyPem(sec1);
    expect(back.spec).toEqual(EC);
    expect(hexString(await keyId(back.publicKey))).toBe(hexString(await keyId(pair.publicKey)));
  });

  test("keys made by openssl import in SEC1, PKCS#8 and PKCS#1 form", async () => {
    const ec = openssl(["ecparam", "-name", "secp384r1", "-genkey", "-noout"], {}).out;
    expect((await importPrivateKeyPem(ec)).spec).toEqual({ type: "ec", bits: 384 });
    const rsa = openssl(["genrsa", "-traditional", "2048"], {}).out;
    expect(rsa).toContain("BEGIN RSA PRIVATE KEY");
    expect((await importPrivateKeyPem(rsa)).spec).toEqual({ type: "rsa", bits: 2048 });
    const pk8 = openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"], {}).out;
    expect(pk8).toContain("BEGIN PRIVATE KEY");
    expect((await importPrivateKeyPem(pk8)).spec).toEqual(EC);
    await expect(importPrivateKeyPem("not a key")).rejects.toThrow("no PEM-encoded data found");
  });

  test("a CSR with a forged signature is refused", async () => {
    const keys = await generateKeyPair();
    const csr = await createCsr({ uri: `spiffe://${TD}/ns/default/dc/dc1/svc/web`, keys, dnsNames: ["web.local:8080", "web.local"] });
    const parsed = await parseCsr(csr);
    expect(parsed.uris).toEqual([`spiffe://${TD}/ns/default/dc/dc1/svc/web`]);
    expect(parsed.dnsNames).toEqual(["web.local"]);
    const lines = csr.trim().split("\n");
    const body = lines.slice(1, -1).join("");
    // Flip a byte near the end (inside the signature).
    const bytes = Uint8Array.from(atob(body), (ch) => ch.charCodeAt(0));
    bytes[bytes.length - 5]! ^= 0xff;
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${btoa(String.fromCharCode(...bytes))}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(parseCsr(forged)).rejects.toThrow();
    await expect(parseCsr("garbage")).rejects.toThrow("no PEM-encoded data found");
  });

  test("CSRs made by openssl (EC P-384, RSA) are read and their signatures checked", async () => {
    const uri = `spiffe://${TD}/ns/default/dc/dc1/svc/api`;
    for (const gen of [["ecparam", "-name", "secp384r1", "-genkey", "-noout"], ["genrsa", "2048"]]) {
      const key = openssl(gen, {}).out;
      const csr = openssl(["req", "-new", "-key", "{k.pem}", "-subj", "/", "-addext", `subjectAltName=URI:${uri},DNS:api.local,IP:10.0.0.7`], { "k.pem": key }).out;
      expect(csr).toContain("BEGIN CERTIFICATE REQUEST");
      const parsed = await parseCsr(csr);
      expect(parsed.uris).toEqual([uri]);
      expect(parsed.dnsNames).toEqual(["api.local"]);
      expect(parsed.ipAddresses).toEqual(["10.0.0.7"]);
      // Signed into a leaf, the SANs and key come through as openssl sees them.
      const ca = await root(9n);
      const pem = await signLeafCert({ ...parsed, caCertPem: ca.pem, caKey: ca.keys.privateKey, caSpec: ca.spec, serial: 10n, nowMs: Date.now(), ttlMs: 72 * HOUR });
      const text = openssl(["x509", "-in", "{l.pem}", "-noout", "-text"], { "l.pem": pem }).out;
      expect(text).toMatch(/DNS:api\.local, IP Address:10\.0\.0\.7, URI:spiffe:/);
      expect(verifies(pem, ca.pem).ok).toBe(true);
    }
  });

  test("validity past 2049 is written as GeneralizedTime and read back", async () => {
    const ca = await root(1n);
    const keys = await generateKeyPair();
    const csr = await parseCsr(await createCsr({ uri: `spiffe://${TD}/ns/default/dc/dc1/svc/web`, keys }));
    const start = Date.UTC(2049, 11, 31, 12, 0, 0);
    const pem = await signLeafCert({ ...csr, caCertPem: ca.pem, caKey: ca.keys.privateKey, caSpec: ca.spec, serial: 2n, nowMs: start, ttlMs: 72 * HOUR });
    const info = await certInfo(pem);
    expect(info.notBefore.getTime()).toBe(start - 60_000);
    expect(info.notAfter.toISOString()).toBe("2050-01-03T11:59:00.000Z");
    expect(openssl(["x509", "-in", "{l.pem}", "-noout", "-enddate"], { "l.pem": pem }).out.trim()).toBe("notAfter=Jan  3 11:59:00 2050 GMT");
  });

  test("serial numbers encode as positive DER integers", () => {
    expect(serialHex(1n)).toBe("01");
    expect(serialHex(255n)).toBe("00ff");
    expect(serialHex(0x1234n)).toBe("1234");
    expect(() => serialHex(0n)).toThrow(RangeError);
  });
});
