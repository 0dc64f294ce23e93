/**
 * JSON Web Token verification for the `jwt` auth method, over WebCrypto
 * (Consul's go-sso oidcauth with static keys or a JWKS URL): the signature
 * against `JWTValidationPubKeys` (PEM public keys or certificates) or the
 * keys of `JWKSURL`, then the time claims with Consul's leeways, the bound
 * issuer and the bound audiences. Error texts follow Consul's.
 */
import { x509 } from "../connect/x509.ts";

/** Consul's claimDefaultLeeway (s): exp or nbf made up from the other when only one is given. */
const CLAIM_DEFAULT_LEEWAY_S = 150;
/** go-jose's DefaultLeeway (s) for clock skew. */
const DEFAULT_CLOCK_SKEW_S = 60;
/** Longest bearer token accepted. */
export const MAX_JWT_BYTES = 64 * 1024;

export class JwtError extends Error {
  override readonly name = "JwtError";
}

type Alg = { import: RsaHashedImportParams | EcKeyImportParams | Algorithm; verify: Algorithm | RsaPssParams | EcdsaParams; kty: string };

const ALGS: Readonly<Record<string, Alg>> = {
  RS256: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" }, verify: { name: "RSASSA-PKCS1-v1_5" }, kty: "RSA" },
  RS384: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-384" }, verify: { name: "RSASSA-PKCS1-v1_5" }, kty: "RSA" },
  RS512: { import: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-512" }, verify: { name: "RSASSA-PKCS1-v1_5" }, kty: "RSA" },
  PS256: { import: { name: "RSA-PSS", hash: "SHA-256" }, verify: { name: "RSA-PSS", saltLength: 32 } as RsaPssParams, kty: "RSA" },
  PS384: { import: { name: "RSA-PSS", hash: "SHA-384" }, verify: { name: "RSA-PSS", saltLength: 48 } as RsaPssParams, kty: "RSA" },
  PS512: { import: { name: "RSA-PSS", hash: "SHA-512" }, verify: { name: "RSA-PSS", saltLength: 64 } as RsaPssParams, kty: "RSA" },
  ES256: { import: { name: "ECDSA", namedCurve: "P-256" }, verify: { name: "ECDSA", hash: "SHA-256" } as EcdsaParams, kty: "EC" },
  ES384: { import: { name: "ECDSA", namedCurve: "P-384" }, verify: { name: "ECDSA", hash: "SHA-384" } as EcdsaParams, kty: "EC" },
  ES512: { import: { name: "ECDSA", namedCurve: "P-521" }, verify: { name: "ECDSA", hash: "SHA-512" } as EcdsaParams, kty: "EC" },
  EdDSA: { import: { name: "Ed25519" }, verify: { name: "Ed25519" }, kty: "OKP" },
};

/** The algorithms Consul's JWTSupportedAlgs may name. */
export const SUPPORTED_ALGS = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"] as const;

/** A verification key: SPKI bytes (from PEM) or a JWK (from a JWKS), imported per algorithm when used. */
export type KeyMaterial = { readonly spki: Uint8Array } | { readonly jwk: JsonWebKey & { kid?: string } };

function b64urlDecode(s: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new JwtError("illegal base64 data");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function pemBlocks(text: string): { label: string; der: Uint8Array }[] {
  const out: { label: string; der: Uint8Array }[] = [];
  const re = /-----BEGIN ([A-Z ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    const body = m[2]!.replace(/\s+/g, "");
    try {
      const bin = atob(body);
      const der = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) der[i] = bin.charCodeAt(i);
      out.push({ label: m[1]!, der });
    } catch {
      // not base64: skipped, reported below as no key
    }
  }
  return out;
}

/** A PEM public key or certificate as key material (Consul's parsePublicKeyPEM). */
export function parsePublicKeyPem(pem: string): KeyMaterial {
  const block = pemBlocks(pem)[0];
  if (block) {
    if (block.label === "PUBLIC KEY") return { spki: block.der };
    if (block.label === "CERTIFICATE") {
      try {
        return { spki: new Uint8Array(new x509.X509Certificate(block.der as Uint8Array<ArrayBuffer>).publicKey.rawData) };
      } catch {
        // fall through
      }
    }
  }
  throw new JwtError("data does not contain any valid RSA, ECDSA, or ED25519 public keys");
}

const imported = new WeakMap<KeyMaterial, Map<string, Promise<CryptoKey | null>>>();

function importFor(key: KeyMaterial, alg: string): Promise<CryptoKey | null> {
  let byAlg = imported.get(key);
  if (!byAlg) imported.set(key, (byAlg = new Map()));
  let p = byAlg.get(alg);
  if (!p) {
    const a = ALGS[alg]!;
    p = ("spki" in key
      ? crypto.subtle.importKey("spki", key.spki as BufferSource, a.import, false, ["verify"])
      : key.jwk.kty !== a.kty
        ? Promise.resolve(null)
        : crypto.subtle.importKey("jwk", { ...key.jwk, alg: undefined, key_ops: undefined, use: undefined, ext: undefined } as JsonWebKey, a.import, false, ["verify"])
    ).catch(() => null);
    byAlg.set(alg, p);
  }
  return p;
}

export interface ParsedJwt {
  readonly header: Record<string, unknown>;
  readonly claims: Record<string, unknown>;
  readonly signingInput: Uint8Array;
  readonly signature: Uint8Array;
}

export function parseJwt(token: string): ParsedJwt {
  if (token.length > MAX_JWT_BYTES) throw new JwtError("error parsing token: token too large");
  const parts = token.split(".");
  if (parts.length !== 3) throw new JwtError("error parsing token: go-jose/go-jose: compact JWS format must have three parts");
  const decodeJson = (s: string): Record<string, unknown> => {
    let v: unknown;
    try {
      v = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(b64urlDecode(s)));
    } catch (err) {
      throw new JwtError(`error parsing token: ${(err as Error).message}`);
    }
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new JwtError("error parsing token: not a JSON object");
    return v as Record<string, unknown>;
  };
  const header = decodeJson(parts[0]!);
  const claims = decodeJson(parts[1]!);
  let signature: Uint8Array;
  try {
    signature = b64urlDecode(parts[2]!);
  } catch (err) {
    throw new JwtError(`error parsing token: ${(err as Error).message}`);
  }
  return { header, claims, signingInput: new TextEncoder().encode(`${parts[0]}.${parts[1]}`), signature };
}

/** Whether any of `keys` verifies the signature (a JWKS key with a `kid` is tried only for tokens naming it). */
export async function verifySignature(jwt: ParsedJwt, keys: readonly KeyMaterial[], supportedAlgs: readonly string[]): Promise<boolean> {
  const alg = jwt.header["alg"];
  if (typeof alg !== "string" || !(alg in ALGS)) return false;
  if (supportedAlgs.length > 0 && !supportedAlgs.includes(alg)) return false;
  const kid = typeof jwt.header["kid"] === "string" ? jwt.header["kid"] : "";
  for (const key of keys) {
    if ("jwk" in key && kid !== "" && key.jwk.kid !== undefined && key.jwk.kid !== kid) continue;
    const ck = await importFor(key, alg);
    if (ck === null) continue;
    try {
      if (await crypto.subtle.verify(ALGS[alg]!.verify, ck, jwt.signature as BufferSource, jwt.signingInput as BufferSource)) return true;
    } catch {
      // a key of another kind: try the next
    }
  }
  return false;
}

export interface ClaimRules {
  readonly boundIssuer: string;
  readonly boundAudiences: readonly string[];
  /** Seconds; 0 means the default, negative means none (Consul's leeway settings). */
  readonly expirationLeewayS: number;
  readonly notBeforeLeewayS: number;
  readonly clockSkewLeewayS: number;
}

function numericDate(claims: Record<string, unknown>, name: string): number {
  const v = claims[name];
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new JwtError(`failed to unmarshal claims: ${name} must be a number`);
  return Math.trunc(v);
}

function leeway(setting: number, dflt: number): number {
  return setting < 0 ? 0 : setting === 0 ? dflt : setting;
}

/** Consul's claim checks after the signature (verifyVanillaJWT): times with leeways, issuer, audiences. */
export function validateClaims(claims: Record<string, unknown>, rules: ClaimRules, nowMs: number): void {
  const iat = numericDate(claims, "iat");
  let exp = numericDate(claims, "exp");
  let nbf = numericDate(claims, "nbf");
  if (iat === 0 && exp === 0 && nbf === 0) throw new JwtError("no issue time, notbefore, or expiration time encoded in token");
  if (exp === 0) exp = Math.max(iat, nbf) + leeway(rules.expirationLeewayS, CLAIM_DEFAULT_LEEWAY_S);
  if (nbf === 0) nbf = iat !== 0 ? iat : exp - leeway(rules.notBeforeLeewayS, CLAIM_DEFAULT_LEEWAY_S);
  const now = Math.floor(nowMs / 1000);
  const skew = leeway(rules.clockSkewLeewayS, DEFAULT_CLOCK_SKEW_S);
  const fail = (why: string): never => {
    throw new JwtError(`error validating claims: go-jose/go-jose/jwt: validation failed, ${why}`);
  };
  if (rules.boundIssuer !== "" && claims["iss"] !== rules.boundIssuer) fail("invalid issuer claim (iss)");
  if (now + skew < nbf) fail("token not valid yet (nbf)");
  if (now - skew > exp) fail("token is expired (exp)");
  if (iat !== 0 && now + skew < iat) fail("token issued in the future (iat)");
  const audRaw = claims["aud"];
  const aud = typeof audRaw === "string" ? [audRaw] : Array.isArray(audRaw) ? audRaw.filter((x): x is string => typeof x === "string") : [];
  if (rules.boundAudiences.length === 0) {
    if (aud.length > 0) throw new JwtError("error validating claims: audience claim found in JWT but no audiences are bound");
  } else if (!rules.boundAudiences.some((b) => aud.includes(b))) {
    throw new JwtError("error validating claims: aud claim does not match any bound audience");
  }
}

/** The keys of a JWKS document; keys of unknown kinds are skipped. */
export function jwksKeys(doc: unknown): KeyMaterial[] {
  const keys = (doc as { keys?: unknown })?.keys;
  if (!Array.isArray(keys)) throw new JwtError("failed to decode keys: no keys array");
  return keys.filter((k): k is JsonWebKey => typeof k === "object" && k !== null && typeof (k as JsonWebKey).kty === "string").map((jwk) => ({ jwk }));
}
