/**
 * Test certificates made with @peculiar/x509 over WebCrypto (EC P-256): CA
 * roots, SPIFFE service leaves (valid, expired, from another CA), and a root
 * cross-signed by another, as Consul's CA rotation produces.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

export const TRUST_DOMAIN = "11111111-2222-3333-4444-555555555555.consul";
const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export interface TestCa {
  readonly name: string;
  readonly keys: CryptoKeyPair;
  readonly cert: x509.X509Certificate;
  readonly pem: string;
}

export interface TestLeaf {
  readonly certPem: string;
  readonly keyPem: string;
  readonly serial: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = new Uint8Array(await crypto.subtle.exportKey("pkcs8", key));
  let bin = "";
  for (const b of der) bin += String.fromCharCode(b);
  const b64 = btoa(bin).replace(/.{64}/g, "$&\n");
  return `-----BEGIN PRIVATE KEY-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END PRIVATE KEY-----\n`;
}

function serial(): string {
  const b = crypto.getRandomValues(new Uint8Array(8));
  b[0] = b[0]! & 0x7f;
  return [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
}

function caExtensions(keys: CryptoKeyPair, trustDomain: string): Promise<x509.Extension[]> {
  return Promise.all([
    Promise.resolve(new x509.BasicConstraintsExtension(true, undefined, true)),
    Promise.resolve(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true)),
    x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    Promise.resolve(new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomain}` }])),
  ]);
}

export async function makeCa(name: string, trustDomain = TRUST_DOMAIN): Promise<TestCa> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3650 * 86_400_000),
    keys,
    signingAlgorithm: ALG,
    extensions: await caExtensions(keys, trustDomain),
  });
  return { name, keys, cert, pem: cert.toString("pem") + "\n" };
}

/** `ca`'s certificate re-issued by `signer` (Consul's CrossSignCA): peers trusting only `signer` can reach leaves of `ca`. */
export async function crossSign(ca: TestCa, signer: TestCa, trustDomain = TRUST_DOMAIN): Promise<string> {
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: ca.cert.subject,
    issuer: signer.cert.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 30 * 86_400_000),
    publicKey: ca.keys.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [...(await caExtensions(ca.keys, trustDomain)), await x509.AuthorityKeyIdentifierExtension.create(signer.keys.publicKey)],
  });
  return cert.toString("pem") + "\n";
}

export interface LeafOptions {
  readonly trustDomain?: string;
  readonly datacenter?: string;
  readonly notBefore?: Date;
  readonly notAfter?: Date;
  /** A URI SAN other than the service's SPIFFE ID. */
  readonly uri?: string;
}

export async function makeLeaf(ca: TestCa, service: string, o: LeafOptions = {}): Promise<TestLeaf> {
  const keys = await crypto.subtle.generateKey(ALG, true, ["sign", "verify"]);
  const td = o.trustDomain ?? TRUST_DOMAIN;
  const uri = o.uri ?? `spiffe://${td}/ns/default/dc/${o.datacenter ?? "dc1"}/svc/${service}`;
  const notBefore = o.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = o.notAfter ?? new Date(Date.now() + 72 * 3_600_000);
  const s = serial();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: s,
    subject: `CN=${service}`,
    issuer: ca.cert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyAgreement, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: uri }]),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
    ],
  });
  return { certPem: cert.toString("pem") + "\n", keyPem: await keyPem(keys.privateKey), serial: s, notBefore, notAfter };
}
