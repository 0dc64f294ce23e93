/**
 * The agent's TLS settings as Consul reads them: the `tls` block
 * (`defaults`, `internal_rpc`, `https`, `grpc`), the older top-level keys
 * that map onto it (`ca_file` -> tls.defaults.ca_file, `verify_incoming_rpc`
 * -> tls.internal_rpc.verify_incoming, ...; the block wins when both are
 * set, as in agent/config/deprecated.go), and the `auto_encrypt` block.
 * A protocol's effective settings are its own block over `defaults`.
 */
import { TlsSetupError } from "./errors.ts";

export const TLS_VERSIONS = ["TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

/** Consul's older spellings of tls_min_version. */
const OLD_VERSIONS: Readonly<Record<string, TlsVersion>> = { tls10: "TLSv1_0", tls11: "TLSv1_1", tls12: "TLSv1_2", tls13: "TLSv1_3" };

/** Consul's cipher suite names and the OpenSSL names node:tls takes (TLS 1.2 and below). */
export const CIPHER_SUITES: Readonly<Record<string, string>> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: "ECDHE-ECDSA-AES128-GCM-SHA256",
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: "ECDHE-ECDSA-AES256-GCM-SHA384",
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-ECDSA-CHACHA20-POLY1305",
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: "ECDHE-ECDSA-AES128-SHA",
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: "ECDHE-ECDSA-AES256-SHA",
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: "ECDHE-RSA-AES128-GCM-SHA256",
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: "ECDHE-RSA-AES256-GCM-SHA384",
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: "ECDHE-RSA-CHACHA20-POLY1305",
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: "ECDHE-RSA-AES128-SHA",
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: "ECDHE-RSA-AES256-SHA",
};

/** One protocol's block; unset fields fall back to `defaults`. */
export interface ProtocolBlock {
  caFile?: string;
  caPath?: string;
  certFile?: string;
  keyFile?: string;
  verifyIncoming?: boolean;
  verifyOutgoing?: boolean;
  verifyServerHostname?: boolean;
  tlsMinVersion?: TlsVersion;
  cipherSuites?: string[];
}

/** A protocol's settings after `defaults` are applied. */
export interface ProtocolTls {
  readonly caFile: string;
  readonly caPath: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly verifyIncoming: boolean;
  readonly verifyOutgoing: boolean;
  /** internal_rpc only: client agents check the server is `server.<dc>.<domain>`. */
  readonly verifyServerHostname: boolean;
  readonly tlsMinVersion: TlsVersion;
  /** Consul names; empty leaves the runtime's defaults. */
  readonly cipherSuites: readonly string[];
}

export interface AutoEncryptSettings {
  /** Client agents: fetch a certificate from the servers at start. */
  tls: boolean;
  /** Servers: sign client agents' certificates. */
  allowTls: boolean;
  dnsSan: string[];
  ipSan: string[];
}

export interface TlsSettings {
  defaults: ProtocolBlock;
  internalRpc: ProtocolBlock;
  https: ProtocolBlock;
  grpc: ProtocolBlock;
  /** Top-level keys, applied under the blocks when resolved. */
  legacy: { defaults: ProtocolBlock; internalRpc: ProtocolBlock; https: ProtocolBlock };
  autoEncrypt: AutoEncryptSettings;
  /** Deprecation notices for the log, as Consul prints them. */
  warnings: string[];
}

export function defaultTlsSettings(): TlsSettings {
  return {
    defaults: {},
    internalRpc: {},
    https: {},
    grpc: {},
    legacy: { defaults: {}, internalRpc: {}, https: {} },
    autoEncrypt: { tls: false, allowTls: false, dnsSan: [], ipSan: [] },
    warnings: [],
  };
}

type Raw = Record<string, unknown>;
const isObj = (v: unknown): v is Raw => typeof v === "object" && v !== null && !Array.isArray(v);

function str(key: string, v: unknown): string {
  if (typeof v !== "string") throw new TlsSetupError(`${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}
function bool(key: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new TlsSetupError(`${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}
function strList(key: string, v: unknown): string[] {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) throw new TlsSetupError(`${key} must be a list of strings, got ${JSON.stringify(v)}`);
  return v as string[];
}

export function parseTlsVersion(key: string, v: unknown): TlsVersion {
  const s = str(key, v);
  if ((TLS_VERSIONS as readonly string[]).includes(s)) return s as TlsVersion;
  const old = OLD_VERSIONS[s];
  if (old) return old;
  throw new TlsSetupError(`${key}: unsupported TLS version ${JSON.stringify(s)}; use one of ${TLS_VERSIONS.join(", ")}`);
}

/** A comma-separated list of Consul cipher suite names. */
export function parseCipherSuites(key: string, v: unknown): string[] {
  const names = str(key, v)
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
  for (const n of names) if (!Object.hasOwn(CIPHER_SUITES, n)) throw new TlsSetupError(`${key}: unsupported cipher suite ${JSON.stringify(n)}`);
  return names;
}

const BLOCK_KEYS = ["ca_file", "ca_path", "cert_file", "key_file", "tls_min_version", "tls_cipher_suites", "verify_incoming", "verify_outgoing"] as const;

/** Reads one block of `tls`; `extra` lists keys only this block takes. */
function protocolBlock(prefix: string, raw: unknown, extra: readonly string[]): ProtocolBlock {
  if (!isObj(raw)) throw new TlsSetupError(`${prefix} must be an object`);
  const out: ProtocolBlock = {};
  for (const [k, v] of Object.entries(raw)) {
    const key = `${prefix}.${k}`;
    if (!(BLOCK_KEYS as readonly string[]).includes(k) && !extra.includes(k)) throw new TlsSetupError(`invalid config key ${key}`);
    switch (k) {
      case "ca_file": out.caFile = str(key, v); break;
      case "ca_path": out.caPath = str(key, v); break;
      case "cert_file": out.certFile = str(key, v); break;
      case "key_file": out.keyFile = str(key, v); break;
      case "tls_min_version": out.tlsMinVersion = parseTlsVersion(key, v); break;
      case "tls_cipher_suites": out.cipherSuites = parseCipherSuites(key, v); break;
      case "verify_incoming": out.verifyIncoming = bool(key, v); break;
      case "verify_outgoing": out.verifyOutgoing = bool(key, v); break;
      case "verify_server_hostname": out.verifyServerHostname = bool(key, v); break;
      case "use_auto_cert": break;
    }
  }
  return out;
}

/** Merges a `tls` block into the settings (later files override earlier ones field by field). */
export function mergeTlsBlock(s: TlsSettings, raw: unknown): void {
  if (!isObj(raw)) throw new TlsSetupError("tls must be an object");
  for (const [k, v] of Object.entries(raw)) {
    switch (k) {
      case "defaults": Object.assign(s.defaults, protocolBlock("tls.defaults", v, [])); break;
      case "internal_rpc": Object.assign(s.internalRpc, protocolBlock("tls.internal_rpc", v, ["verify_server_hostname"])); break;
      case "https": Object.assign(s.https, protocolBlock("tls.https", v, [])); break;
      case "grpc": Object.assign(s.grpc, protocolBlock("tls.grpc", v, ["use_auto_cert"])); break;
      default: throw new TlsSetupError(`invalid config key tls.${k}`);
    }
  }
}

/** The top-level keys Consul still reads, and where each now lives. */
export const LEGACY_KEYS: Readonly<Record<string, string>> = {
  ca_file: "tls.defaults.ca_file",
  ca_path: "tls.defaults.ca_path",
  cert_file: "tls.defaults.cert_file",
  key_file: "tls.defaults.key_file",
  tls_cipher_suites: "tls.defaults.tls_cipher_suites",
  tls_min_version: "tls.defaults.tls_min_version",
  verify_incoming: "tls.defaults.verify_incoming",
  verify_incoming_https: "tls.https.verify_incoming",
  verify_incoming_rpc: "tls.internal_rpc.verify_incoming",
  verify_outgoing: "tls.defaults.verify_outgoing",
  verify_server_hostname: "tls.internal_rpc.verify_server_hostname",
  tls_prefer_server_cipher_suites: "",
};

/** Applies one deprecated top-level key; true when `key` is one. */
export function mergeLegacyKey(s: TlsSettings, key: string, v: unknown): boolean {
  if (!Object.hasOwn(LEGACY_KEYS, key)) return false;
  const l = s.legacy;
  switch (key) {
    case "ca_file": l.defaults.caFile = str(key, v); break;
    case "ca_path": l.defaults.caPath = str(key, v); break;
    case "cert_file": l.defaults.certFile = str(key, v); break;
    case "key_file": l.defaults.keyFile = str(key, v); break;
    case "tls_cipher_suites": l.defaults.cipherSuites = parseCipherSuites(key, v); break;
    case "tls_min_version": l.defaults.tlsMinVersion = parseTlsVersion(key, v); break;
    case "verify_incoming": l.defaults.verifyIncoming = bool(key, v); break;
    case "verify_incoming_https": l.https.verifyIncoming = bool(key, v); break;
    case "verify_incoming_rpc": l.internalRpc.verifyIncoming = bool(key, v); break;
    case "verify_outgoing": l.defaults.verifyOutgoing = bool(key, v); break;
    case "verify_server_hostname": l.internalRpc.verifyServerHostname = bool(key, v); break;
    case "tls_prefer_server_cipher_suites":
      bool(key, v);
      s.warnings.push("The 'tls_prefer_server_cipher_suites' field is deprecated and will be ignored.");
      return true;
  }
  s.warnings.push(`The '${key}' field is deprecated. Use the '${LEGACY_KEYS[key]}' field instead.`);
  return true;
}

export function mergeAutoEncryptBlock(s: TlsSettings, raw: unknown): void {
  if (!isObj(raw)) throw new TlsSetupError("auto_encrypt must be an object");
  for (const [k, v] of Object.entries(raw)) {
    const key = `auto_encrypt.${k}`;
    switch (k) {
      case "tls": s.autoEncrypt.tls = bool(key, v); break;
      case "allow_tls": s.autoEncrypt.allowTls = bool(key, v); break;
      case "dns_san": s.autoEncrypt.dnsSan = [...s.autoEncrypt.dnsSan, ...strList(key, v)]; break;
      case "ip_san": s.autoEncrypt.ipSan = [...s.autoEncrypt.ipSan, ...strList(key, v)]; break;
      case "grpc_server_tls": bool(key, v); break;
      default: throw new TlsSetupError(`invalid config key ${key}`);
    }
  }
}

/** The effective settings of one protocol: its block, then the legacy keys, then `defaults`. */
export function resolveProtocol(s: TlsSettings, protocol: "internalRpc" | "https" | "grpc"): ProtocolTls {
  const legacyOwn = protocol === "grpc" ? {} : s.legacy[protocol];
  const defaults: ProtocolBlock = { ...s.legacy.defaults, ...definedOf(s.defaults) };
  const own: ProtocolBlock = { ...legacyOwn, ...definedOf(s[protocol]) };
  const pick = <K extends keyof ProtocolBlock>(k: K): ProtocolBlock[K] => (own[k] !== undefined ? own[k] : defaults[k]);
  return {
    caFile: pick("caFile") ?? "",
    caPath: pick("caPath") ?? "",
    certFile: pick("certFile") ?? "",
    keyFile: pick("keyFile") ?? "",
    verifyIncoming: pick("verifyIncoming") ?? false,
    verifyOutgoing: pick("verifyOutgoing") ?? false,
    verifyServerHostname: protocol === "internalRpc" ? (own.verifyServerHostname ?? false) : false,
    tlsMinVersion: pick("tlsMinVersion") ?? "TLSv1_2",
    cipherSuites: pick("cipherSuites") ?? [],
  };
}

function definedOf(b: ProtocolBlock): ProtocolBlock {
  return Object.fromEntries(Object.entries(b).filter(([, v]) => v !== undefined)) as ProtocolBlock;
}

/** True when anything asks for TLS at all (so a plain agent never reads a file). */
export function tlsConfigured(s: TlsSettings): boolean {
  const any = (b: ProtocolBlock) => Object.values(b).some((v) => v !== undefined);
  return any(s.defaults) || any(s.internalRpc) || any(s.https) || any(s.legacy.defaults) || any(s.legacy.internalRpc) || any(s.legacy.https) || s.autoEncrypt.tls || s.autoEncrypt.allowTls;
}
