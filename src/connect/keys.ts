/**
 * Key pairs over WebCrypto: generation (EC P-256 by default, as Consul),
 * import of the PEM shapes Consul accepts (SEC1, PKCS#1, PKCS#8) and export
 * as SEC1 "EC PRIVATE KEY" (what Consul's leaf PrivateKeyPEM holds) or PKCS#8.
 */
import { bitString, children, contents, derNull, DerError, explicit, octets, oid, oidString, readTlv, seq, smallInt, Tag, type Tlv } from "./der.ts";
import { CertificateError } from "./errors.ts";
import { pemDecode, pemEncode, plainBytes } from "./pem.ts";

export type KeyType = "ec" | "rsa";

export interface KeySpec {
  readonly type: KeyType;
  readonly bits: number;
}

export const DEFAULT_KEY_SPEC: KeySpec = { type: "ec", bits: 256 };

const OID_EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const OID_RSA_ENCRYPTION = "1.2.840.113549.1.1.1";

/** The curves WebCrypto offers on all three runtimes (P-224 is not among them). */
const CURVES: Record<number, { readonly name: string; readonly oid: string }> = {
  256: { name: "P-256", oid: "1.2.840.10045.3.1.7" },
  384: { name: "P-384", oid: "1.3.132.0.34" },
  521: { name: "P-521", oid: "1.3.132.0.35" },
};

function curveOf(spec: KeySpec): { readonly name: string; readonly oid: string } {
  const c = CURVES[spec.bits];
  if (!c) throw new CertificateError(`error generating ECDSA private key: unknown curve length ${spec.bits}`);
  return c;
}

function curveByOid(dotted: string): number {
  for (const [bits, c] of Object.entries(CURVES)) if (c.oid === dotted) return Number(bits);
  throw new CertificateError(`unsupported elliptic curve ${dotted}`);
}

/** WebCrypto import parameters for a key of this spec. */
export function keyAlgorithm(spec: KeySpec): EcKeyImportParams | RsaHashedImportParams {
  return spec.type === "ec" ? { name: "ECDSA", namedCurve: curveOf(spec).name } : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
}

/** Signature algorithm a CA key of this spec signs with (SHA-256 always, as Consul's SigAlgoForKey). */
export function signatureAlgorithm(spec: KeySpec): Algorithm | EcdsaParams {
  return spec.type === "ec" ? ({ name: "ECDSA", hash: "SHA-256" } as EcdsaParams) : { name: "RSASSA-PKCS1-v1_5" };
}

export async function generateKeyPair(spec: KeySpec = DEFAULT_KEY_SPEC): Promise<CryptoKeyPair> {
  if (spec.type === "ec") {
    return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curveOf(spec).name }, true, ["sign", "verify"]);
  }
  if (spec.bits !== 2048 && spec.bits !== 4096) throw new CertificateError("RSA key length must be 2048 or 4096 bits");
  return crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: spec.bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
}

export interface ImportedKey {
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly spec: KeySpec;
}

/** Wraps a SEC1 ECPrivateKey or PKCS#1 RSAPrivateKey into PKCS#8, which WebCrypto imports. */
function toPkcs8(type: string, der: Uint8Array): { pkcs8: Uint8Array; spec: KeySpec | null } {
  if (type === "PRIVATE KEY") return { pkcs8: der, spec: null };
  if (type === "RSA PRIVATE KEY") {
    return { pkcs8: seq(smallInt(0), seq(oid(OID_RSA_ENCRYPTION), derNull()), octets(der)), spec: null };
  }
  if (type === "EC PRIVATE KEY") {
    const top = readTlv(der, 0);
    const params = children(der, top).find((t) => t.tag === 0xa0);
    if (!params) throw new CertificateError("EC private key has no curve parameters");
    const curve = readTlv(der, params.start);
    const bits = curveByOid(oidString(contents(der, curve)));
    const pkcs8 = seq(smallInt(0), seq(oid(OID_EC_PUBLIC_KEY), oid(CURVES[bits]!.oid)), octets(der));
    return { pkcs8, spec: { type: "ec", bits } };
  }
  throw new CertificateError(`unknown PEM block type for signing key: ${type}`);
}

/** The key spec named by a PKCS#8 or SPKI AlgorithmIdentifier (RSA bits come later from the key). */
function specOfAlgorithm(der: Uint8Array, algId: Tlv): KeySpec {
  const [algOid, params] = children(der, algId);
  if (!algOid || algOid.tag !== Tag.Oid) throw new CertificateError("malformed key algorithm");
  const name = oidString(contents(der, algOid));
  if (name === OID_RSA_ENCRYPTION) return { type: "rsa", bits: 0 };
  if (name === OID_EC_PUBLIC_KEY && params?.tag === Tag.Oid) return { type: "ec", bits: curveByOid(oidString(contents(der, params))) };
  throw new CertificateError(`unsupported key algorithm ${name}`);
}

/** Imports a PEM private key ("EC PRIVATE KEY", "RSA PRIVATE KEY" or "PRIVATE KEY") with its public half. */
export async function importPrivateKeyPem(pem: string): Promise<ImportedKey> {
  const block = pemDecode(pem);
  if (!block) throw new CertificateError("no PEM-encoded data found");
  try {
    const { pkcs8 } = toPkcs8(block.type, block.der);
    const top = readTlv(pkcs8, 0);
    const [, algId] = children(pkcs8, top);
    if (!algId) throw new CertificateError("malformed PKCS#8 key");
    let spec = specOfAlgorithm(pkcs8, algId);
    const params = spec.type === "ec" ? keyAlgorithm(spec) : ({ name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } as RsaHashedImportParams);
    const privateKey = await crypto.subtle.importKey("pkcs8", plainBytes(pkcs8), params, true, ["sign"]);
    if (spec.type === "rsa") spec = { type: "rsa", bits: (privateKey.algorithm as RsaHashedKeyAlgorithm).modulusLength };
    const jwk = await crypto.subtle.exportKey("jwk", privateKey);
    const pub: JsonWebKey = { kty: jwk.kty, ext: true };
    if (jwk.kty === "EC") Object.assign(pub, { crv: jwk.crv, x: jwk.x, y: jwk.y });
    else Object.assign(pub, { n: jwk.n, e: jwk.e, alg: jwk.alg });
    const publicKey = await crypto.subtle.importKey("jwk", pub, params, true, ["verify"]);
    return { privateKey, publicKey, spec };
  } catch (err) {
    if (err instanceof CertificateError) throw err;
    if (err instanceof DerError) throw new CertificateError(`error parsing private key: ${err.message}`);
    throw new CertificateError(`error parsing private key: ${(err as Error).message}`);
  }
}

export async function exportPkcs8Pem(privateKey: CryptoKey): Promise<string> {
  return pemEncode("PRIVATE KEY", new Uint8Array(await crypto.subtle.exportKey("pkcs8", privateKey)));
}

/** Exports an EC key pair as SEC1 "EC PRIVATE KEY" with curve and public key, as Go's MarshalECPrivateKey does. */
export async function exportSec1Pem(pair: CryptoKeyPair): Promise<string> {
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey));
  const top = readTlv(pkcs8, 0);
  const [, algId, inner] = children(pkcs8, top);
  if (!algId || !inner) throw new CertificateError("malformed PKCS#8 key");
  const spec = specOfAlgorithm(pkcs8, algId);
  if (spec.type !== "ec") throw new CertificateError("only EC keys have a SEC1 form");
  const ecKey = contents(pkcs8, inner);
  const fields = children(ecKey, readTlv(ecKey, 0));
  const d = fields[1];
  if (!d || d.tag !== Tag.OctetString) throw new CertificateError("malformed EC private key");
  const point = new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey));
  const sec1 = seq(smallInt(1), octets(contents(ecKey, d)), explicit(0, oid(curveOf(spec).oid)), explicit(1, bitString(point)));
  return pemEncode("EC PRIVATE KEY", sec1);
}

/** Key spec of a SubjectPublicKeyInfo (the key inside a certificate). */
export async function specOfSpki(spki: Uint8Array): Promise<KeySpec> {
  const top = readTlv(spki, 0);
  const [algId] = children(spki, top);
  if (!algId) throw new CertificateError("malformed public key");
  const spec = specOfAlgorithm(spki, algId);
  if (spec.type === "ec") return spec;
  const key = await crypto.subtle.importKey("spki", plainBytes(spki), { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, true, ["verify"]);
  return { type: "rsa", bits: (key.algorithm as RsaHashedKeyAlgorithm).modulusLength };
}

/** Consul's key identifier: SHA-256 of the DER SubjectPublicKeyInfo. */
export async function keyIdOfSpki(spki: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", plainBytes(spki)));
}

export async function keyId(publicKey: CryptoKey): Promise<Uint8Array> {
  return keyIdOfSpki(new Uint8Array(await crypto.subtle.exportKey("spki", publicKey)));
}
