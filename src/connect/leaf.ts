/**
 * The signing hot path in plain DER: reading CSRs and certificates, and
 * writing leaf certificates, straight over WebCrypto. @peculiar/x509 makes
 * the roots and cross-signed roots (rare) but parses and builds through a
 * schema layer that costs milliseconds per certificate; a CA signs leaves
 * for every service instance, after every rotation, so this path is lean.
 * The leaf shape is the one certs.ts documents (Consul's provider Sign).
 */
import { bitString, children, concat, contents, DerError, explicit, octets, oid, oidString, readTlv, seq, type Tlv, Tag, tlv } from "./der.ts";
import { CertificateError } from "./errors.ts";
import { keyIdOfSpki, type KeySpec } from "./keys.ts";
import { pemDecode, pemEncode, plainBytes } from "./pem.ts";

/** NotBefore is set this far in the past (Consul's CertificateTimeDriftBuffer). */
export const CLOCK_DRIFT_MS = 60_000;

const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  rsaEncryption: "1.2.840.113549.1.1.1",
  ecdsaSha256: "1.2.840.10045.4.3.2",
  ecdsaSha384: "1.2.840.10045.4.3.3",
  ecdsaSha512: "1.2.840.10045.4.3.4",
  rsaSha256: "1.2.840.113549.1.1.11",
  rsaSha384: "1.2.840.113549.1.1.12",
  rsaSha512: "1.2.840.113549.1.1.13",
  extensionRequest: "1.2.840.113549.1.9.14",
  subjectKeyId: "2.5.29.14",
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  authorityKeyId: "2.5.29.35",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
  clientAuth: "1.3.6.1.5.5.7.3.2",
} as const;

const CURVE_BY_OID: Record<string, { name: string; size: number }> = {
  "1.2.840.10045.3.1.7": { name: "P-256", size: 32 },
  "1.3.132.0.34": { name: "P-384", size: 48 },
  "1.3.132.0.35": { name: "P-521", size: 66 },
};

const HASH_OF_SIG: Record<string, { kind: "ec" | "rsa"; hash: string }> = {
  [OID.ecdsaSha256]: { kind: "ec", hash: "SHA-256" },
  [OID.ecdsaSha384]: { kind: "ec", hash: "SHA-384" },
  [OID.ecdsaSha512]: { kind: "ec", hash: "SHA-512" },
  [OID.rsaSha256]: { kind: "rsa", hash: "SHA-256" },
  [OID.rsaSha384]: { kind: "rsa", hash: "SHA-384" },
  [OID.rsaSha512]: { kind: "rsa", hash: "SHA-512" },
};

// ---- small DER helpers ----

/** A positive INTEGER from big-endian magnitude bytes. */
function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  const trimmed = bytes.subarray(i);
  return tlv(Tag.Integer, trimmed[0]! & 0x80 ? concat(new Uint8Array([0]), trimmed) : trimmed);
}

function bigintBytes(n: bigint): Uint8Array {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  return Uint8Array.from(hex.match(/../g) ?? [], (h) => Number.parseInt(h, 16));
}

/** UTCTime before 2050, GeneralizedTime from then on (RFC 5280 4.1.2.5). */
function derTime(ms: number): Uint8Array {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  const y = Number(iso.slice(0, 4));
  const digits = iso.slice(0, 19).replace(/[-:T]/g, "");
  const text = y < 2050 ? `${digits.slice(2)}Z` : `${digits}Z`;
  return tlv(y < 2050 ? 0x17 : 0x18, new TextEncoder().encode(text));
}

function readTime(buf: Uint8Array, t: Tlv): Date {
  const s = new TextDecoder().decode(contents(buf, t));
  const full = t.tag === 0x17 ? `${Number(s.slice(0, 2)) >= 50 ? "19" : "20"}${s}` : s;
  const m = /^(\d{4})(\d\d)(\d\d)(\d\d)(\d\d)(\d\d)Z$/.exec(full);
  if (!m) throw new CertificateError(`bad certificate time ${JSON.stringify(s)}`);
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? seq(oid(id), new Uint8Array([0x01, 0x01, 0xff]), octets(value)) : seq(oid(id), octets(value));
}

/** ECDSA: WebCrypto's r||s to the DER SEQUENCE certificates carry, and back. */
function p1363ToDer(sig: Uint8Array): Uint8Array {
  const half = sig.length / 2;
  return seq(uint(sig.subarray(0, half)), uint(sig.subarray(half)));
}

function derToP1363(der: Uint8Array, size: number): Uint8Array {
  const [r, s] = children(der, readTlv(der, 0));
  if (!r || !s) throw new CertificateError("malformed ECDSA signature");
  const out = new Uint8Array(size * 2);
  const put = (t: Tlv, at: number) => {
    let v = contents(der, t);
    while (v.length > size && v[0] === 0) v = v.subarray(1);
    if (v.length > size) throw new CertificateError("malformed ECDSA signature");
    out.set(v, at + size - v.length);
  };
  put(r, 0);
  put(s, size);
  return out;
}

function generalNames(buf: Uint8Array, t: Tlv): { uris: string[]; dnsNames: string[]; ipAddresses: string[] } {
  const out = { uris: [] as string[], dnsNames: [] as string[], ipAddresses: [] as string[] };
  const dec = new TextDecoder();
  for (const n of children(buf, t)) {
    const v = contents(buf, n);
    if (n.tag === 0x86) out.uris.push(dec.decode(v));
    else if (n.tag === 0x82) out.dnsNames.push(dec.decode(v));
    else if (n.tag === 0x87) out.ipAddresses.push(v.length === 4 ? [...v].join(".") : ipv6Text(v));
  }
  return out;
}

function ipv6Text(v: Uint8Array): string {
  const parts: string[] = [];
  for (let i = 0; i < v.length; i += 2) parts.push(((v[i]! << 8) | v[i + 1]!).toString(16));
  return parts.join(":").replace(/(^|:)0(:0)+(:|$)/, "::");
}

function ipBytes(ip: string): Uint8Array {
  if (ip.includes(".")) return Uint8Array.from(ip.split(".").map(Number));
  const [head, tail] = ip.split("::") as [string, string | undefined];
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return Uint8Array.from(groups.flatMap((g) => [Number.parseInt(g, 16) >> 8, Number.parseInt(g, 16) & 0xff]));
}

// ---- signatures ----

async function importSpki(spki: Uint8Array): Promise<{ key: CryptoKey; kind: "ec" | "rsa"; size: number }> {
  const [alg] = children(spki, readTlv(spki, 0));
  if (!alg) throw new CertificateError("malformed public key");
  const [algOid, params] = children(spki, alg);
  const name = algOid ? oidString(contents(spki, algOid)) : "";
  if (name === OID.ecPublicKey && params?.tag === Tag.Oid) {
    const curve = CURVE_BY_OID[oidString(contents(spki, params))];
    if (!curve) throw new CertificateError("unsupported elliptic curve in CSR");
    const key = await crypto.subtle.importKey("spki", plainBytes(spki), { name: "ECDSA", namedCurve: curve.name }, false, ["verify"]);
    return { key, kind: "ec", size: curve.size };
  }
  if (name === OID.rsaEncryption) {
    const key = await crypto.subtle.importKey("spki", plainBytes(spki), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, false, ["verify"]);
    return { key, kind: "rsa", size: 0 };
  }
  throw new CertificateError(`unsupported public key algorithm ${name}`);
}

async function verifySignature(spki: Uint8Array, sigAlg: string, signature: Uint8Array, signed: Uint8Array): Promise<boolean> {
  const how = HASH_OF_SIG[sigAlg];
  if (!how) throw new CertificateError(`x509: cannot verify signature: algorithm unimplemented (${sigAlg})`);
  const pub = await importSpki(spki);
  if (pub.kind !== how.kind) return false;
  if (pub.kind === "ec") {
    return crypto.subtle.verify({ name: "ECDSA", hash: how.hash }, pub.key, plainBytes(derToP1363(signature, pub.size)), plainBytes(signed));
  }
  // An RSA key imported for SHA-256 verifies only SHA-256 signatures; re-import for others.
  const key = how.hash === "SHA-256" ? pub.key : await crypto.subtle.importKey("spki", plainBytes(spki), { name: "RSASSA-PKCS1-v1_5", hash: how.hash }, false, ["verify"]);
  return crypto.subtle.verify({ name: "RSASSA-PKCS1-v1_5" }, key, plainBytes(signature), plainBytes(signed));
}

// ---- CSRs ----

export interface CsrFields {
  readonly spki: Uint8Array;
  readonly uris: string[];
  readonly dnsNames: string[];
  readonly ipAddresses: string[];
}

/** Parses a PEM CSR and checks its self-signature (Go's ParseCertificateRequest + CheckSignature). */
export async function readCsr(pem: string): Promise<CsrFields> {
  const block = pemDecode(pem);
  if (!block) throw new CertificateError("no PEM-encoded data found");
  if (block.type !== "CERTIFICATE REQUEST") throw new CertificateError("first PEM-block should be CERTIFICATE REQUEST type");
  const der = block.der;
  let fields: CsrFields;
  let ok: boolean;
  try {
    const [info, sigAlg, sig] = children(der, readTlv(der, 0));
    if (!info || !sigAlg || !sig || sig.tag !== Tag.BitString) throw new DerError("not a certificate request");
    const infoParts = children(der, info);
    const spkiT = infoParts[2];
    if (!spkiT || spkiT.tag !== Tag.Sequence) throw new DerError("missing public key");
    const spki = der.slice(spkiT.head, spkiT.end);
    let names = { uris: [] as string[], dnsNames: [] as string[], ipAddresses: [] as string[] };
    const attrs = infoParts[3];
    if (attrs && attrs.tag === 0xa0) {
      for (const attr of children(der, attrs)) {
        const [id, values] = children(der, attr);
        if (!id || !values || oidString(contents(der, id)) !== OID.extensionRequest) continue;
        for (const exts of children(der, values)) {
          for (const ext of children(der, exts)) {
            const parts = children(der, ext);
            if (oidString(contents(der, parts[0]!)) !== OID.subjectAltName) continue;
            const value = contents(der, parts[parts.length - 1]!);
            names = generalNames(value, readTlv(value, 0));
          }
        }
      }
    }
    fields = { spki, ...names };
    const alg = oidString(contents(der, children(der, sigAlg)[0]!));
    const sigBits = contents(der, sig).subarray(1);
    ok = await verifySignature(spki, alg, sigBits, der.subarray(info.head, info.end));
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError(`x509: malformed certificate request: ${(err as Error).message}`);
  }
  if (!ok) throw new CertificateError("x509: ECDSA verification failure");
  return fields;
}

// ---- certificates ----

export interface CertFields {
  readonly serial: bigint;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** Colon hex, "" when absent. */
  readonly subjectKeyId: string;
  readonly authorityKeyId: string;
  readonly uris: string[];
  readonly isCA: boolean;
  readonly spki: Uint8Array;
  /** DER of the subject Name, as a child certificate's issuer must repeat it. */
  readonly subjectDer: Uint8Array;
}

const colonHex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, "0")).join(":");

/** Reads the fields the CA and the leaf cache need from the first certificate of a PEM (or DER). */
export function readCert(input: string | Uint8Array): CertFields {
  let der: Uint8Array;
  if (typeof input === "string") {
    const block = pemDecode(input);
    if (!block || block.type !== "CERTIFICATE") throw new CertificateError("no PEM-encoded data found");
    der = block.der;
  } else der = input;
  try {
    const [tbs] = children(der, readTlv(der, 0));
    if (!tbs) throw new DerError("not a certificate");
    let parts = children(der, tbs);
    if (parts[0]?.tag === 0xa0) parts = parts.slice(1);
    const [serialT, , , validity, subject, spkiT] = parts;
    if (!serialT || !validity || !subject || !spkiT) throw new DerError("truncated certificate");
    const [nb, na] = children(der, validity);
    let subjectKeyId = "";
    let authorityKeyId = "";
    let uris: string[] = [];
    let isCA = false;
    const exts = parts.find((p) => p.tag === 0xa3);
    if (exts) {
      for (const ext of children(der, children(der, exts)[0]!)) {
        const p = children(der, ext);
        const id = oidString(contents(der, p[0]!));
        const value = contents(der, p[p.length - 1]!);
        const inner = readTlv(value, 0);
        if (id === OID.subjectKeyId) subjectKeyId = colonHex(contents(value, inner));
        else if (id === OID.authorityKeyId) {
          const kid = children(value, inner).find((c) => c.tag === 0x80);
          if (kid) authorityKeyId = colonHex(contents(value, kid));
        } else if (id === OID.subjectAltName) uris = generalNames(value, inner).uris;
        else if (id === OID.basicConstraints) {
          const first = children(value, inner)[0];
          isCA = first?.tag === 0x01 && value[first.start] !== 0;
        }
      }
    }
    return {
      serial: BigInt(`0x${colonHex(contents(der, serialT)).replaceAll(":", "") || "0"}`),
      notBefore: readTime(der, nb!),
      notAfter: readTime(der, na!),
      subjectKeyId,
      authorityKeyId,
      uris,
      isCA,
      spki: der.slice(spkiT.head, spkiT.end),
      subjectDer: der.slice(subject.head, subject.end),
    };
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    throw new CertificateError(`error parsing cert: ${(err as Error).message}`);
  }
}

/** The issuing side of a CA, read once per root and kept. */
export interface Issuer {
  readonly subjectDer: Uint8Array;
  readonly keyId: Uint8Array;
  readonly key: CryptoKey;
  readonly spec: KeySpec;
}

export async function issuerOf(caCertPem: string, key: CryptoKey, spec: KeySpec): Promise<Issuer> {
  const ca = readCert(caCertPem);
  return { subjectDer: ca.subjectDer, keyId: await keyIdOfSpki(ca.spki), key, spec };
}

export interface LeafTemplate {
  readonly spki: Uint8Array;
  readonly uris: readonly string[];
  readonly dnsNames: readonly string[];
  readonly ipAddresses: readonly string[];
  readonly serial: bigint;
  readonly nowMs: number;
  readonly ttlMs: number;
}

/** Makes and signs a leaf certificate; answers its PEM. */
export async function issueLeaf(issuer: Issuer, t: LeafTemplate): Promise<{ pem: string; notBefore: number; notAfter: number }> {
  const enc = new TextEncoder();
  const names = concat(
    ...t.dnsNames.map((d) => tlv(0x82, enc.encode(d))),
    ...t.ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))),
    ...t.uris.map((u) => tlv(0x86, enc.encode(u))),
  );
  const algId = issuer.spec.type === "ec" ? seq(oid(OID.ecdsaSha256)) : seq(oid(OID.rsaSha256), new Uint8Array([Tag.Null, 0]));
  const notBefore = Math.floor((t.nowMs - CLOCK_DRIFT_MS) / 1000) * 1000;
  const notAfter = notBefore + t.ttlMs;
  const extensions = seq(
    // digitalSignature, keyEncipherment, dataEncipherment, keyAgreement
    extension(OID.keyUsage, true, tlv(Tag.BitString, new Uint8Array([0x03, 0xb8]))),
    extension(OID.extKeyUsage, false, seq(oid(OID.clientAuth), oid(OID.serverAuth))),
    extension(OID.basicConstraints, true, seq()),
    extension(OID.subjectKeyId, false, octets(await keyIdOfSpki(t.spki))),
    extension(OID.authorityKeyId, false, seq(tlv(0x80, issuer.keyId))),
    // No subject: RFC 5280 then wants the SAN critical.
    extension(OID.subjectAltName, true, tlv(Tag.Sequence, names)),
  );
  const tbs = seq(
    explicit(0, new Uint8Array([Tag.Integer, 1, 2])),
    uint(bigintBytes(t.serial)),
    algId,
    issuer.subjectDer,
    seq(derTime(notBefore), derTime(notAfter)),
    seq(),
    t.spki,
    explicit(3, extensions),
  );
  let sig: Uint8Array = new Uint8Array(
    issuer.spec.type === "ec"
      ? await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, issuer.key, plainBytes(tbs))
      : await crypto.subtle.sign({ name: "RSASSA-PKCS1-v1_5" }, issuer.key, plainBytes(tbs)),
  );
  if (issuer.spec.type === "ec") sig = p1363ToDer(sig);
  return { pem: pemEncode("CERTIFICATE", seq(tbs, algId, bitString(sig))), notBefore, notAfter };
}
