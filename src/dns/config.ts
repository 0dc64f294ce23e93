/**
 * DNS settings: Consul's `dns_config` block, the top-level `domain`,
 * `alt_domain`, `recursors` and `translate_wan_addrs`, and their defaults
 * (agent/config/default.go).
 */
import { isIP } from "node:net";
import { parseGoDuration } from "../structs/duration.ts";
import { isObject } from "../structs/json.ts";

export type RecursorStrategy = "sequential" | "random";

/** The `dns_config` block, with defaults filled in. */
export interface DnsOptions {
  allowStale: boolean;
  maxStaleMs: number;
  nodeTtlMs: number;
  /** Service name, `prefix*` or `*` -> TTL in ms. */
  serviceTtlMs: Record<string, number>;
  udpAnswerLimit: number;
  /**
   * Largest UDP answer sent whatever size a client advertises with EDNS
   * (`dns_config.udp_max_payload`, Consulate's own; 1232 as current resolvers
   * use, so an answer is never a large amplifier or IP-fragmented).
   */
  udpMaxPayload: number;
  aRecordLimit: number;
  enableTruncate: boolean;
  onlyPassing: boolean;
  recursorTimeoutMs: number;
  recursorStrategy: RecursorStrategy;
  disableCompression: boolean;
  nodeMetaTxt: boolean;
  soa: { refresh: number; retry: number; expire: number; minTtl: number };
}

/** Everything the handler needs to know about this agent and its DNS settings. */
export interface DnsConfig extends DnsOptions {
  /** Lower-case FQDN, e.g. "consul.". */
  domain: string;
  /** Lower-case FQDN, or "" when none is set. */
  altDomain: string;
  datacenter: string;
  nodeName: string;
  /** "host:port" (IPv6 hosts in brackets). */
  recursors: string[];
  translateWanAddrs: boolean;
}

/** A DNS setting that cannot be used; the message names it. */
export class DnsConfigError extends Error {
  override readonly name = "DnsConfigError";
}

export function defaultDnsOptions(): DnsOptions {
  return {
    allowStale: true,
    maxStaleMs: 87_600 * 3_600_000,
    nodeTtlMs: 0,
    serviceTtlMs: {},
    udpAnswerLimit: 3,
    udpMaxPayload: 1232,
    aRecordLimit: 0,
    enableTruncate: false,
    onlyPassing: false,
    recursorTimeoutMs: 2000,
    recursorStrategy: "sequential",
    disableCompression: false,
    nodeMetaTxt: true,
    soa: { refresh: 3600, retry: 600, expire: 86400, minTtl: 0 },
  };
}

/** Lower-case FQDN form of a domain ("Consul" -> "consul."). */
export function fqdn(domain: string): string {
  const d = domain.trim().toLowerCase();
  if (d === "" || d === ".") return d === "" ? "" : ".";
  return d.endsWith(".") ? d : `${d}.`;
}

export function resolveDnsConfig(parts: {
  domain?: string;
  altDomain?: string;
  datacenter: string;
  nodeName: string;
  recursors?: readonly string[];
  translateWanAddrs?: boolean;
  options?: Partial<DnsOptions>;
}): DnsConfig {
  const domain = fqdn(parts.domain ?? "consul.");
  if (domain === "" || domain === ".") throw new DnsConfigError(`domain must be a DNS name, got "${parts.domain}"`);
  const alt = fqdn(parts.altDomain ?? "");
  return {
    ...defaultDnsOptions(),
    ...parts.options,
    domain,
    altDomain: alt === "." ? "" : alt,
    datacenter: parts.datacenter.toLowerCase(),
    nodeName: parts.nodeName,
    recursors: (parts.recursors ?? []).map(recursorAddress),
    translateWanAddrs: parts.translateWanAddrs ?? false,
  };
}

/** Adds port 53 when a recursor has none ("8.8.8.8" -> "8.8.8.8:53", "::1" -> "[::1]:53"). */
export function recursorAddress(r: string): string {
  const s = r.trim();
  if (isIP(s) === 4) return `${s}:53`;
  if (isIP(s) === 6) return `[${s}]:53`;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6 && isIP(v6[1]!) === 6) return `[${v6[1]}]:${v6[2] ?? 53}`;
  const v4 = /^([^:]+):(\d+)$/.exec(s);
  if (v4 && isIP(v4[1]!) === 4 && Number(v4[2]) <= 65535) return s;
  throw new DnsConfigError(`Invalid recursor address: "${r}" is not an IP address with an optional port`);
}

/** Splits "host:port" / "[v6]:port" as recursorAddress writes them. */
export function splitHostPort(addr: string): { host: string; port: number } {
  const i = addr.lastIndexOf(":");
  const host = addr.slice(0, i).replace(/^\[|\]$/g, "");
  return { host, port: Number(addr.slice(i + 1)) };
}

/** The TTL in seconds for a service: exact name, then longest `prefix*`, then `*`. */
export function serviceTtlSeconds(cfg: DnsOptions, service: string): number {
  const table = cfg.serviceTtlMs;
  const exact = table[service];
  if (exact !== undefined && !service.endsWith("*")) return Math.floor(exact / 1000);
  let best = -1;
  let ttl = 0;
  for (const key in table) {
    if (!key.endsWith("*")) continue;
    const prefix = key.slice(0, -1);
    if (prefix.length > best && service.startsWith(prefix)) {
      best = prefix.length;
      ttl = table[key]!;
    }
  }
  return best >= 0 ? Math.floor(ttl / 1000) : 0;
}

function duration(key: string, v: unknown): number {
  const ms = typeof v === "string" ? parseGoDuration(v) : null;
  if (ms === null || ms < 0) throw new DnsConfigError(`dns_config.${key} must be a duration such as "10s", got ${JSON.stringify(v)}`);
  return ms;
}

function int(key: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0) throw new DnsConfigError(`dns_config.${key} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return v;
}

function bool(key: string, v: unknown): boolean {
  if (typeof v !== "boolean") throw new DnsConfigError(`dns_config.${key} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

/** Merges a `dns_config` object from a config file into `into`. An unknown key is an error, as in Consul. */
export function mergeDnsOptions(into: DnsOptions, raw: unknown): DnsOptions {
  if (!isObject(raw)) throw new DnsConfigError("dns_config must be an object");
  const out: DnsOptions = { ...into, serviceTtlMs: { ...into.serviceTtlMs }, soa: { ...into.soa } };
  for (const [key, v] of Object.entries(raw)) {
    switch (key) {
      case "allow_stale": out.allowStale = bool(key, v); break;
      case "max_stale": out.maxStaleMs = duration(key, v); break;
      case "node_ttl": out.nodeTtlMs = duration(key, v); break;
      case "service_ttl": {
        if (!isObject(v)) throw new DnsConfigError("dns_config.service_ttl must be an object of service name to duration");
        for (const [name, ttl] of Object.entries(v)) out.serviceTtlMs[name] = duration(`service_ttl.${name}`, ttl);
        break;
      }
      case "udp_answer_limit": out.udpAnswerLimit = int(key, v); break;
      case "udp_max_payload": {
        const n = int(key, v);
        if (n < 512 || n > 65535) throw new DnsConfigError(`dns_config.udp_max_payload must be between 512 and 65535, got ${n}`);
        out.udpMaxPayload = n;
        break;
      }
      case "a_record_limit": out.aRecordLimit = int(key, v); break;
      case "enable_truncate": out.enableTruncate = bool(key, v); break;
      case "only_passing": out.onlyPassing = bool(key, v); break;
      case "recursor_timeout": out.recursorTimeoutMs = duration(key, v); break;
      case "recursor_strategy": {
        if (v !== "sequential" && v !== "random") throw new DnsConfigError(`dns_config.recursor_strategy must be "sequential" or "random", got ${JSON.stringify(v)}`);
        out.recursorStrategy = v;
        break;
      }
      case "disable_compression": out.disableCompression = bool(key, v); break;
      case "enable_additional_node_meta_txt": out.nodeMetaTxt = bool(key, v); break;
      case "soa": {
        if (!isObject(v)) throw new DnsConfigError("dns_config.soa must be an object");
        if ("refresh" in v) out.soa.refresh = int("soa.refresh", v.refresh);
        if ("retry" in v) out.soa.retry = int("soa.retry", v.retry);
        if ("expire" in v) out.soa.expire = int("soa.expire", v.expire);
        if ("min_ttl" in v) out.soa.minTtl = int("soa.min_ttl", v.min_ttl);
        break;
      }
      // Deprecated in Consul and about Enterprise namespaces: accepted, with nothing to do.
      case "prefer_namespace": break;
      default:
        throw new DnsConfigError(`invalid config key dns_config.${key}`);
    }
  }
  return out;
}
