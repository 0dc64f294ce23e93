/**
 * Auth methods of type `jwt` (Consul's authmethod/ssoauth over go-sso's
 * oidcauth): the method's Config checked as Consul checks it, a bearer token
 * verified into an identity (claims mapped to `value.<name>` and
 * `list.<name>`), and what binding rules select and project from it.
 */
import { compileFilter, type FieldSchema } from "../filter/mod.ts";
import { parseGoDuration } from "../structs/duration.ts";
import { type ClaimRules, JwtError, jwksKeys, type KeyMaterial, parseJwt, parsePublicKeyPem, SUPPORTED_ALGS, validateClaims, verifySignature } from "./jwt.ts";

/** The auth method types this build runs (Consul's authmethod.Types()). */
export const AUTH_METHOD_TYPES = ["jwt"] as const;

/** A bad Config (answered "Invalid Auth Method: <message>"). */
export class AuthMethodConfigError extends Error {
  override readonly name = "AuthMethodConfigError";
}

/** The verified caller: mapped claims (Consul's authmethod.Identity). */
export interface Identity {
  readonly value: Readonly<Record<string, string>>;
  readonly list: Readonly<Record<string, readonly string[]>>;
}

/** What a Selector may name: `value.<name>` (strings) and `list.<name>` (string lists). */
export const IDENTITY_SCHEMA: FieldSchema = {
  kind: "struct",
  fields: { value: { kind: "map", elem: { kind: "string" } }, list: { kind: "map", elem: { kind: "list", elem: { kind: "string" } } } },
};

export interface JwtConfig {
  readonly keys: readonly KeyMaterial[];
  readonly jwksUrl: string;
  readonly claimRules: ClaimRules;
  readonly claimMappings: Readonly<Record<string, string>>;
  readonly listClaimMappings: Readonly<Record<string, string>>;
  readonly supportedAlgs: readonly string[];
}

type Obj = Record<string, unknown>;

function get(cfg: Obj, key: string): unknown {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(cfg)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function optString(cfg: Obj, key: string): string {
  const v = get(cfg, key);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new AuthMethodConfigError(`'${key}' must be a string`);
  return v;
}

function optStrings(cfg: Obj, key: string): string[] {
  const v = get(cfg, key);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new AuthMethodConfigError(`'${key}' must be a list of strings`);
  return v as string[];
}

function optMap(cfg: Obj, key: string): Record<string, string> {
  const v = get(cfg, key);
  if (v === undefined || v === null) return {};
  if (typeof v !== "object" || Array.isArray(v) || Object.values(v as Obj).some((x) => typeof x !== "string")) throw new AuthMethodConfigError(`'${key}' must be a map of strings`);
  const out = v as Record<string, string>;
  const seen = new Set<string>();
  for (const target of Object.values(out)) {
    if (seen.has(target)) throw new AuthMethodConfigError(`${key} contains multiple mappings for key "${target}"`);
    seen.add(target);
  }
  return out;
}

/** A Go duration in seconds: a string ("10s") or nanoseconds. */
function optDurationS(cfg: Obj, key: string): number {
  const v = get(cfg, key);
  if (v === undefined || v === null || v === "" || v === 0) return 0;
  if (typeof v === "number" && Number.isFinite(v)) return v / 1e9;
  const ms = typeof v === "string" ? parseGoDuration(v) : null;
  if (ms === null) throw new AuthMethodConfigError(`'${key}' must be a duration`);
  return ms / 1000;
}

const NOT_FOR_JWT = ["OIDCClientID", "OIDCClientSecret", "OIDCScopes", "OIDCACRValues", "AllowedRedirectURIs", "VerboseOIDCLogging"];

/** Consul's Config.Validate for type "jwt" (without fetching anything). */
export function parseJwtConfig(config: unknown): JwtConfig {
  if (config === undefined || config === null) config = {};
  if (typeof config !== "object" || Array.isArray(config)) throw new AuthMethodConfigError("Config must be an object");
  const cfg = config as Obj;
  for (const k of NOT_FOR_JWT) {
    const v = get(cfg, k);
    if (v !== undefined && v !== null && v !== "" && v !== false && !(Array.isArray(v) && v.length === 0)) throw new AuthMethodConfigError(`'${k}' must not be set for type "jwt"`);
  }
  const pubKeys = optStrings(cfg, "JWTValidationPubKeys");
  const jwksUrl = optString(cfg, "JWKSURL");
  const discovery = optString(cfg, "OIDCDiscoveryURL");
  const methods = (pubKeys.length > 0 ? 1 : 0) + (jwksUrl !== "" ? 1 : 0) + (discovery !== "" ? 1 : 0);
  if (methods !== 1) throw new AuthMethodConfigError(`exactly one of 'JWTValidationPubKeys', 'JWKSURL', or 'OIDCDiscoveryURL' must be set for type "jwt"`);
  if (discovery !== "") throw new AuthMethodConfigError("'OIDCDiscoveryURL' is not supported by this server; use 'JWKSURL' or 'JWTValidationPubKeys'");
  if (optString(cfg, "JWKSCACert") !== "") {
    if (jwksUrl === "") throw new AuthMethodConfigError("'JWKSCACert' should not be set unless 'JWKSURL' is set");
    throw new AuthMethodConfigError("'JWKSCACert' is not supported by this server; the JWKS URL must be trusted by the system roots");
  }
  if (jwksUrl !== "") {
    let u: URL;
    try {
      u = new URL(jwksUrl);
    } catch {
      throw new AuthMethodConfigError(`error checking JWKSURL: invalid URL "${jwksUrl}"`);
    }
    if (u.protocol !== "http:" && u.protocol !== "https:") throw new AuthMethodConfigError(`error checking JWKSURL: unsupported protocol scheme "${u.protocol.replace(/:$/, "")}"`);
  }
  const keys = pubKeys.map((pem, i) => {
    try {
      return parsePublicKeyPem(pem);
    } catch (err) {
      throw new AuthMethodConfigError(`error parsing public key JWTValidationPubKeys[${i}]: ${(err as Error).message}`);
    }
  });
  const supportedAlgs = optStrings(cfg, "JWTSupportedAlgs");
  for (const a of supportedAlgs) if (!(SUPPORTED_ALGS as readonly string[]).includes(a)) throw new AuthMethodConfigError(`Invalid supported algorithm: ${a}`);
  return {
    keys,
    jwksUrl,
    supportedAlgs,
    claimMappings: optMap(cfg, "ClaimMappings"),
    listClaimMappings: optMap(cfg, "ListClaimMappings"),
    claimRules: {
      boundIssuer: optString(cfg, "BoundIssuer"),
      boundAudiences: optStrings(cfg, "BoundAudiences"),
      expirationLeewayS: optDurationS(cfg, "ExpirationLeeway"),
      notBeforeLeewayS: optDurationS(cfg, "NotBeforeLeeway"),
      clockSkewLeewayS: optDurationS(cfg, "ClockSkewLeeway"),
    },
  };
}

/** A claim by name, or by JSON pointer when it starts with "/" (Consul's getClaim). */
function claim(all: Obj, source: string): unknown {
  if (!source.startsWith("/")) return all[source];
  let cur: unknown = all;
  for (const raw of source.slice(1).split("/")) {
    const part = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    if (Array.isArray(cur)) {
      if (!/^\d+$/.test(part)) return undefined;
      cur = cur[Number(part)];
    } else if (typeof cur === "object" && cur !== null) cur = (cur as Obj)[part];
    else return undefined;
  }
  return cur;
}

function stringify(v: unknown): string | null {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return String(v);
  if (typeof v === "number" && Number.isFinite(v)) return String(Math.trunc(v));
  return null;
}

/** Mapped claims of a verified token (Consul's extractClaims). */
export function extractIdentity(all: Obj, cfg: JwtConfig): Identity {
  const value: Record<string, string> = {};
  for (const [source, target] of Object.entries(cfg.claimMappings)) {
    const raw = claim(all, source);
    if (raw === undefined || raw === null) continue;
    const s = stringify(raw);
    if (s === null) throw new JwtError(`error converting claim '${source}' to string from unknown type`);
    value[target] = s;
  }
  const list: Record<string, string[]> = {};
  for (const [source, target] of Object.entries(cfg.listClaimMappings)) {
    const raw = claim(all, source);
    if (raw === undefined || raw === null) continue;
    const items = Array.isArray(raw) ? raw : [raw];
    const out: string[] = [];
    for (const item of items) {
      const s = stringify(item);
      if (s === null) throw new JwtError(`value in "${source}" list claim could not be parsed as string`);
      if (s !== "") out.push(s);
    }
    list[target] = out;
  }
  return { value, list };
}

/** The variables a BindName may use: `value.<name>` for each ClaimMappings target. */
export function projectedVarNames(cfg: JwtConfig): string[] {
  return Object.values(cfg.claimMappings).map((t) => `value.${t}`);
}

export function projectedVars(cfg: JwtConfig, id: Identity): Record<string, string> {
  const out: Record<string, string> = {};
  for (const t of Object.values(cfg.claimMappings)) out[`value.${t}`] = id.value[t] ?? "";
  return out;
}

/** `${value.x}` interpolation (HIL variable references), values lower-cased as Consul's binder does. */
export function interpolate(template: string, vars: Readonly<Record<string, string>>): string {
  let bad = "";
  const out = template.replace(/\$\{\s*([^}]*?)\s*\}/g, (_m, name: string) => {
    if (!(name in vars)) {
      bad ||= name;
      return "";
    }
    return vars[name]!.toLowerCase();
  });
  if (bad !== "") throw new Error(`unknown variable accessed: ${bad}`);
  if (/\$\{/.test(out)) throw new Error("unterminated interpolation");
  return out;
}

/** Whether a Selector compiles against the identity's fields; its error text otherwise. */
export function selectorProblem(selector: string): string | null {
  if (selector === "") return null;
  try {
    compileFilter(selector, IDENTITY_SCHEMA);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

export function selectorMatches(selector: string, id: Identity): boolean {
  if (selector === "") return true;
  try {
    return compileFilter(selector, IDENTITY_SCHEMA)(id);
  } catch {
    return false;
  }
}

/** Fetches a JWKS (kept per URL for a minute; refetched at once for an unknown key). */
export class JwksCache {
  private readonly entries = new Map<string, { keys: KeyMaterial[]; at: number }>();

  async keys(url: string, now: number, fresh: boolean): Promise<KeyMaterial[]> {
    const hit = this.entries.get(url);
    if (hit && !fresh && now - hit.at < 60_000) return hit.keys;
    if (hit && fresh && now - hit.at < 1_000) return hit.keys;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new JwtError(`error verifying token: fetching keys: ${(err as Error).message}`);
    }
    if (!res.ok) throw new JwtError(`error verifying token: fetching keys: ${res.status} ${res.statusText}`);
    const text = await res.text();
    if (text.length > 1024 * 1024) throw new JwtError("error verifying token: fetching keys: JWKS document too large");
    let doc: unknown;
    try {
      doc = JSON.parse(text);
    } catch {
      throw new JwtError("error verifying token: failed to decode keys");
    }
    const keys = jwksKeys(doc);
    this.entries.set(url, { keys, at: now });
    if (this.entries.size > 100) this.entries.delete(this.entries.keys().next().value!);
    return keys;
  }
}

/** Verifies a bearer token under a method's config; JwtError with Consul's text when it does not pass. */
export async function validateLogin(cfg: JwtConfig, bearer: string, now: number, jwks: JwksCache): Promise<Identity> {
  if (bearer === "") throw new JwtError("missing jwt");
  const jwt = parseJwt(bearer);
  if (cfg.jwksUrl !== "") {
    let ok = await verifySignature(jwt, await jwks.keys(cfg.jwksUrl, now, false), cfg.supportedAlgs);
    if (!ok) ok = await verifySignature(jwt, await jwks.keys(cfg.jwksUrl, now, true), cfg.supportedAlgs);
    if (!ok) throw new JwtError("error verifying token: failed to verify id token signature");
  } else if (!(await verifySignature(jwt, cfg.keys, cfg.supportedAlgs))) {
    throw new JwtError("no known key successfully validated the token signature");
  }
  validateClaims(jwt.claims, cfg.claimRules, now);
  return extractIdentity(jwt.claims, cfg);
}
