/**
 * The built-in ("consul") CA provider's configuration: Consul's
 * CommonCAProviderConfig + ConsulCAProviderConfig, decoded from the raw
 * `Config` map the way mapstructure does it (field names case-insensitive,
 * durations as Go strings or nanosecond numbers, numbers from strings),
 * with Consul's defaults and validation texts.
 */
import { CAConfigError } from "./errors.ts";
import type { KeySpec } from "./keys.ts";
import { formatGoDuration, parseGoDuration } from "../structs/duration.ts";

export const CONSUL_PROVIDER = "consul";

const HOUR = 3_600_000;
export const DEFAULT_LEAF_CERT_TTL_MS = 72 * HOUR;
export const DEFAULT_INTERMEDIATE_CERT_TTL_MS = 8760 * HOUR;
export const DEFAULT_ROOT_CERT_TTL_MS = 87600 * HOUR;
export const MIN_LEAF_CERT_TTL_MS = HOUR;
export const MAX_LEAF_CERT_TTL_MS = 8760 * HOUR;
/** Consul checks the intermediate every hour, so it must live at least 3 of them. */
const INTERMEDIATE_RENEW_INTERVAL_MS = HOUR;

/** What a fresh cluster stores (Consul's RuntimeConfig.ConnectCAConfiguration). */
export function defaultCAConfigMap(): Record<string, unknown> {
  return { LeafCertTTL: "72h", IntermediateCertTTL: "8760h", RootCertTTL: "87600h" };
}

export interface ConsulCAConfig {
  readonly leafCertTtlMs: number;
  readonly intermediateCertTtlMs: number;
  readonly rootCertTtlMs: number;
  readonly key: KeySpec;
  /** 0 turns the rate limit off. */
  readonly csrMaxPerSecond: number;
  readonly csrMaxConcurrent: number;
  readonly skipValidate: boolean;
  /** A root key and certificate the operator brings; "" makes Consulate generate them. */
  readonly privateKey: string;
  readonly rootCert: string;
}

const norm = (k: string): string => k.toLowerCase().replaceAll("_", "");

function lookup(raw: Record<string, unknown>, name: string): unknown {
  const want = norm(name);
  for (const [k, v] of Object.entries(raw)) if (norm(k) === want) return v;
  return undefined;
}

function decodeError(name: string, detail: string): CAConfigError {
  return new CAConfigError(`error decoding config: 1 error(s) decoding:\n\n* error decoding '${name}': ${detail}`);
}

function duration(raw: Record<string, unknown>, name: string, dflt: number): number {
  const v = lookup(raw, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === "number" && Number.isFinite(v)) return v / 1e6;
  if (typeof v === "string") {
    const ms = parseGoDuration(v);
    if (ms === null) throw decodeError(name, `time: invalid duration ${JSON.stringify(v)}`);
    return ms;
  }
  throw decodeError(name, `expected a duration, got ${JSON.stringify(v)}`);
}

function number(raw: Record<string, unknown>, name: string, dflt: number): number {
  const v = lookup(raw, name);
  if (v === undefined || v === null) return dflt;
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && v.trim() !== "" && Number.isFinite(Number(v))) return Number(v);
  throw decodeError(name, `cannot parse ${JSON.stringify(v)} as a number`);
}

function string(raw: Record<string, unknown>, name: string): string {
  const v = lookup(raw, name);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw decodeError(name, `expected a string, got ${JSON.stringify(v)}`);
  return v;
}

function boolean(raw: Record<string, unknown>, name: string): boolean {
  const v = lookup(raw, name);
  if (v === undefined || v === null) return false;
  if (typeof v === "boolean") return v;
  if (v === "true" || v === "1" || v === 1) return true;
  if (v === "false" || v === "0" || v === 0 || v === "") return false;
  throw decodeError(name, `cannot parse ${JSON.stringify(v)} as a boolean`);
}

/** Decodes and validates a raw provider config (Consul's ParseConsulCAConfig). */
export function parseConsulCAConfig(raw: Record<string, unknown>): ConsulCAConfig {
  const keyType = string(raw, "PrivateKeyType") || "ec";
  const cfg: ConsulCAConfig = {
    leafCertTtlMs: duration(raw, "LeafCertTTL", DEFAULT_LEAF_CERT_TTL_MS),
    intermediateCertTtlMs: duration(raw, "IntermediateCertTTL", DEFAULT_INTERMEDIATE_CERT_TTL_MS),
    rootCertTtlMs: duration(raw, "RootCertTTL", DEFAULT_ROOT_CERT_TTL_MS),
    key: { type: keyType as KeySpec["type"], bits: number(raw, "PrivateKeyBits", keyType === "rsa" ? 2048 : 256) },
    csrMaxPerSecond: number(raw, "CSRMaxPerSecond", 50),
    csrMaxConcurrent: number(raw, "CSRMaxConcurrent", 0),
    skipValidate: boolean(raw, "SkipValidate"),
    privateKey: string(raw, "PrivateKey"),
    rootCert: string(raw, "RootCert"),
  };
  if (cfg.privateKey === "" && cfg.rootCert !== "") throw new CAConfigError("must provide a private key when providing a root cert");
  validate(cfg);
  return cfg;
}

function validate(c: ConsulCAConfig): void {
  if (c.skipValidate) return;
  if (c.leafCertTtlMs < MIN_LEAF_CERT_TTL_MS) throw new CAConfigError(`leaf cert TTL must be greater or equal than ${formatGoDuration(MIN_LEAF_CERT_TTL_MS)}`);
  if (c.leafCertTtlMs > MAX_LEAF_CERT_TTL_MS) throw new CAConfigError(`leaf cert TTL must be less than ${formatGoDuration(MAX_LEAF_CERT_TTL_MS)}`);
  if (c.intermediateCertTtlMs < 3 * INTERMEDIATE_RENEW_INTERVAL_MS) throw new CAConfigError("Intermediate Cert TTL must be greater or equal than 3h");
  if (c.intermediateCertTtlMs < 3 * c.leafCertTtlMs) {
    throw new CAConfigError(`Intermediate Cert TTL must be greater or equal than 3 * LeafCertTTL (>=${formatGoDuration(3 * c.leafCertTtlMs)}).`);
  }
  if (c.key.type === "ec") {
    if (![224, 256, 384, 521].includes(c.key.bits)) throw new CAConfigError("EC key length must be one of (224, 256, 384, 521) bits");
  } else if (c.key.type === "rsa") {
    if (c.key.bits !== 2048 && c.key.bits !== 4096) throw new CAConfigError("RSA key length must be 2048 or 4096 bits");
  } else {
    throw new CAConfigError("private key type must be either 'ec' or 'rsa'");
  }
}

/**
 * Identity of a provider configuration (Consul hashes PrivateKey, RootCert,
 * key type and bits): when it changes, the CA needs a new root.
 */
export async function providerId(c: ConsulCAConfig): Promise<string> {
  const text = `${c.privateKey},${c.rootCert},${c.key.type},${c.key.bits},true`;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text)));
  return [...hash].map((b) => b.toString(16).padStart(2, "0")).join(":");
}
