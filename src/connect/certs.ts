/**
 * The certificates of Consul's built-in CA, in the shapes its Go code makes
 * (agent/connect/ca/provider_consul.go):
 * - root: self-signed, CA, KeyUsage certSign|cRLSign|digitalSignature,
 *   SKID = AKID = SHA-256 of the key, URI SAN spiffe://<cluster-id>.consul,
 *   CN pri-<uid>.consul.ca.<cluster-id[:8]>.consul;
 * - cross-signed root: the new root's template signed by the old root's key,
 *   valid 7 days, so leaves of the new root chain to the old one;
 * - leaf: the CSR's key and SANs, no subject (so the SAN is critical),
 *   KeyUsage digitalSignature|keyEncipherment|dataEncipherment|keyAgreement,
 *   EKU serverAuth+clientAuth, SKID of the leaf key, AKID of the signer,
 *   valid from a minute ago (clock drift) for LeafCertTTL.
 */
import { CertificateError } from "./errors.ts";
import { keyIdOfSpki, type KeySpec, signatureAlgorithm, specOfSpki } from "./keys.ts";
import { CLOCK_DRIFT_MS, issueLeaf, issuerOf, readCert } from "./leaf.ts";
import { hexString, pemDecode, plainBytes } from "./pem.ts";
import { trustDomainFor } from "./spiffe.ts";
import { x509 } from "./x509.ts";

export { CLOCK_DRIFT_MS };
/** A cross-signed root lives 7 days: long enough for every leaf of the old root to be renewed. */
export const CROSS_SIGN_TTL_MS = 7 * 24 * 3_600_000;

const OID_SAN = "2.5.29.17";
const OID_AKID = "2.5.29.35";

/** A positive serial number as the generator wants it: even-length hex, a leading 00 when the top bit is set. */
export function serialHex(serial: bigint): string {
  if (serial <= 0n) throw new RangeError(`Serial number must be positive: ${serial}`);
  let hex = serial.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  if (Number.parseInt(hex.slice(0, 2), 16) & 0x80) hex = `00${hex}`;
  return hex;
}

/** Seconds precision, as certificates carry it (and Go then reports). */
const seconds = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);

/** Consul's CACN: `pri-<uid8>.consul.ca.<trust-domain[:8]>.consul`. */
export function caCommonName(uid: string, clusterId: string, primary = true): string {
  const clean = uid.toLowerCase().replace(/[^a-z0-9]/g, "").slice(0, 8);
  return `${primary ? "pri" : "sec"}-${clean}.consul.ca.${clusterId.slice(0, 8)}.consul`;
}

/** 8 base-36 characters of randomness, as Consul's CompactUID. */
export function compactUid(): string {
  const raw = crypto.getRandomValues(new Uint8Array(8));
  let n = 0n;
  for (const b of raw) n = (n << 8n) | BigInt(b);
  return n.toString(36).slice(0, 8).padStart(8, "0");
}

async function spkiOf(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey("spki", key));
}

export interface RootParams {
  readonly keys: CryptoKeyPair;
  readonly spec: KeySpec;
  readonly clusterId: string;
  readonly serial: bigint;
  readonly nowMs: number;
  readonly ttlMs: number;
  /** Random part of the CN; Consul's CompactUID. */
  readonly uid?: string;
}

export async function createRootCert(p: RootParams): Promise<string> {
  const kid = hexString(await keyIdOfSpki(await spkiOf(p.keys.publicKey))).replaceAll(":", "");
  const name = `CN=${caCommonName(p.uid ?? compactUid(), p.clusterId)}`;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(p.serial),
    subject: name,
    issuer: name,
    notBefore: seconds(p.nowMs),
    notAfter: seconds(p.nowMs + p.ttlMs),
    publicKey: p.keys.publicKey,
    signingKey: p.keys.privateKey,
    signingAlgorithm: signatureAlgorithm(p.spec),
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.SubjectKeyIdentifierExtension(kid),
      new x509.AuthorityKeyIdentifierExtension(kid),
      new x509.SubjectAlternativeNameExtension([{ type: "url", value: `spiffe://${trustDomainFor(p.clusterId)}` }]),
    ],
  });
  return cert.toString("pem") + "\n";
}

export interface CrossSignParams {
  /** The new root to be vouched for. */
  readonly newRootPem: string;
  /** The old root, whose key signs. */
  readonly oldRootPem: string;
  readonly oldKey: CryptoKey;
  readonly oldSpec: KeySpec;
  readonly serial: bigint;
  readonly nowMs: number;
}

/** The new root's certificate re-issued by the old root (Consul's CrossSignCA). */
export async function crossSignRoot(p: CrossSignParams): Promise<string> {
  const newRoot = new x509.X509Certificate(p.newRootPem);
  const oldRoot = new x509.X509Certificate(p.oldRootPem);
  const oldKid = hexString(await keyIdOfSpki(new Uint8Array(oldRoot.publicKey.rawData))).replaceAll(":", "");
  const extensions = newRoot.extensions.filter((e) => e.type !== OID_AKID);
  extensions.push(new x509.AuthorityKeyIdentifierExtension(oldKid));
  const notBefore = p.nowMs - CLOCK_DRIFT_MS;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(p.serial),
    subject: newRoot.subjectName,
    issuer: oldRoot.subjectName,
    notBefore: seconds(notBefore),
    notAfter: seconds(notBefore + CROSS_SIGN_TTL_MS),
    publicKey: newRoot.publicKey,
    signingKey: p.oldKey,
    signingAlgorithm: signatureAlgorithm(p.oldSpec),
    extensions,
  });
  return cert.toString("pem") + "\n";
}

export interface LeafParams {
  /** Public key (DER SPKI) and SANs, from the verified CSR. */
  readonly spki: Uint8Array;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly caCertPem: string;
  readonly caKey: CryptoKey;
  readonly caSpec: KeySpec;
  readonly serial: bigint;
  readonly nowMs: number;
  readonly ttlMs: number;
}

export async function signLeafCert(p: LeafParams): Promise<string> {
  const issuer = await issuerOf(p.caCertPem, p.caKey, p.caSpec);
  return (await issueLeaf(issuer, p)).pem;
}

/** What the CA reads back from a certificate it made or was given. */
export interface CertInfo {
  /** SHA-1 of the DER, colon hex: Consul's CARoot.ID. */
  readonly fingerprint: string;
  readonly serial: bigint;
  /** Colon hex of the SubjectKeyIdentifier (Consul's SigningKeyID), "" when absent. */
  readonly subjectKeyId: string;
  readonly authorityKeyId: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly uris: string[];
  readonly isCA: boolean;
  readonly spec: KeySpec;
  readonly spki: Uint8Array;
}

export async function certInfo(pem: string): Promise<CertInfo> {
  const block = pemDecode(pem);
  if (!block || block.type !== "CERTIFICATE") throw new CertificateError("error parsing cert: no PEM-encoded data found");
  const c = readCert(block.der);
  const fp = new Uint8Array(await crypto.subtle.digest("SHA-1", plainBytes(block.der)));
  return {
    fingerprint: hexString(fp),
    serial: c.serial,
    subjectKeyId: c.subjectKeyId,
    authorityKeyId: c.authorityKeyId,
    notBefore: c.notBefore,
    notAfter: c.notAfter,
    uris: c.uris,
    isCA: c.isCA,
    spec: await specOfSpki(c.spki),
    spki: c.spki,
  };
}

/** Checks `child` was signed by the key of `issuerPem` (signature only, no dates). */
export async function verifySignedBy(childPem: string, issuerPem: string): Promise<boolean> {
  const child = new x509.X509Certificate(childPem);
  const issuer = new x509.X509Certificate(issuerPem);
  try {
    return await child.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    // A signature of another key type or curve does not even parse for this key.
    return false;
  }
}

/** DER bytes of the first certificate in a PEM (for comparing names in tests and chains). */
export function certDer(pem: string): Uint8Array {
  return new Uint8Array(new x509.X509Certificate(pem).rawData);
}

export { OID_SAN };
