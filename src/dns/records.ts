/**
 * Record makers and the address rules behind them: tagged-address choice and
 * WAN translation (agent/translate_addr.go), SRV weights from aggregate
 * health, node-meta TXT, SOA.
 */
import type { DnsConfig } from "./config.ts";
import type { ServiceInstance } from "./lookup.ts";
import type { Rr, SoaRecord, TxtRecord } from "./message.ts";
import { rfc1464 } from "./names.ts";
import { RType } from "./wire.ts";
import type { Node, ServiceAddress } from "../structs/catalog.ts";
import { Accept, translateNodeAddr, translateServiceAddr, translateServicePortFor } from "../structs/translate_addr.ts";

export { Accept } from "../structs/translate_addr.ts";

export function acceptFor(qtype: number): number {
  if (qtype === RType.A) return Accept.Domain | Accept.IPv4;
  if (qtype === RType.AAAA) return Accept.Domain | Accept.IPv6;
  return Accept.Any;
}

function useWan(cfg: DnsConfig, dc: string): boolean {
  return cfg.translateWanAddrs && dc.toLowerCase() !== cfg.datacenter;
}

export function translateNodeAddress(cfg: DnsConfig, dc: string, node: Node, accept: number): string {
  return translateNodeAddr(useWan(cfg, dc), node, accept);
}

export function translateServiceAddress(cfg: DnsConfig, dc: string, address: string, tagged: Record<string, ServiceAddress> | undefined, accept: number): string {
  return translateServiceAddr(useWan(cfg, dc), address, tagged, accept);
}

export function translateServicePort(cfg: DnsConfig, dc: string, port: number, tagged: Record<string, ServiceAddress> | undefined): number {
  return translateServicePortFor(useWan(cfg, dc), port, tagged);
}

/** An A or AAAA record when the question type admits the address family (makeARecord). */
export function addressRecord(qtype: number, ip: Uint8Array, name: string, ttl: number): Rr | null {
  if (ip.length === 4) {
    if (qtype === RType.SRV || qtype === RType.A || qtype === RType.ANY || qtype === RType.NS || qtype === RType.TXT) return { type: RType.A, name, ttl, ip };
    return null;
  }
  if (qtype === RType.SRV || qtype === RType.AAAA || qtype === RType.ANY || qtype === RType.NS || qtype === RType.TXT) return { type: RType.AAAA, name, ttl, ip };
  return null;
}

/** Drops instances with a critical check, and with any non-passing check when `onlyPassing`. */
export function healthy(instances: readonly ServiceInstance[], onlyPassing: boolean): ServiceInstance[] {
  const out: ServiceInstance[] = [];
  outer: for (const inst of instances) {
    for (const c of inst.checks) {
      if (c.Status === "critical" || (onlyPassing && c.Status !== "passing")) continue outer;
    }
    out.push(inst);
  }
  return out;
}

/** SRV weight: Weights.Warning when the aggregate status is warning, else Weights.Passing. */
export function srvWeight(inst: ServiceInstance): number {
  const w = inst.service.Weights as { Passing?: number; Warning?: number } | null | undefined;
  const passing = w?.Passing ?? 1;
  const warning = w?.Warning ?? 1;
  let maint = false;
  let critical = false;
  let warn = false;
  for (const c of inst.checks) {
    if (c.ServiceName !== inst.service.Service && c.ServiceName !== "") continue;
    if (c.CheckID === "_node_maintenance" || c.CheckID.startsWith("_service_maintenance:")) {
      maint = true;
      continue;
    }
    if (c.Status === "critical") critical = true;
    else if (c.Status === "warning") warn = true;
    else if (c.Status !== "passing") return 1;
  }
  if (maint || critical) return 0;
  return (warn ? warning : passing) & 0xffff;
}

/** Node meta as TXT records: RFC 1464 `key=value`, raw values for `rfc1035-` keys. */
export function nodeMetaTxt(name: string, node: Node, ttl: number): TxtRecord[] {
  const meta = node.Meta ?? {};
  const out: TxtRecord[] = [];
  for (const key of Object.keys(meta).sort()) {
    const value = meta[key]!;
    const text = key.toLowerCase().startsWith("rfc1035-") ? value : rfc1464(key, value);
    out.push({ type: RType.TXT, name, ttl, texts: splitTxt(text) });
  }
  return out;
}

/** TXT character-strings hold 255 bytes each. */
function splitTxt(text: string): string[] {
  if (text.length <= 255) return [text];
  const out: string[] = [];
  for (let i = 0; i < text.length; i += 255) out.push(text.slice(i, i + 255));
  return out;
}

export function soaRecord(cfg: DnsConfig, domain: string, nowMs: number): SoaRecord {
  return {
    type: RType.SOA,
    name: domain,
    // Kept equal to the minimum TTL so negative answers are cached consistently.
    ttl: cfg.soa.minTtl,
    mname: `ns.${domain}`,
    rname: `hostmaster.${domain}`,
    serial: Math.floor(nowMs / 1000) >>> 0,
    refresh: cfg.soa.refresh,
    retry: cfg.soa.retry,
    expire: cfg.soa.expire,
    minimum: cfg.soa.minTtl,
  };
}
