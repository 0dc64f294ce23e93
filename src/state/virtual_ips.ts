/**
 * Service virtual IPs (Consul's state/catalog.go assignServiceVirtualIP,
 * freeServiceVirtualIP, VirtualIPForService): one address from 240.0.0.0/4
 * per service name reached through the mesh, allocated inside `apply` so
 * every server hands out the same one and a snapshot carries the table.
 *
 * - A connect-native instance, or a connect-proxy (for its destination),
 *   gets one for the service name; the instance carries it as the
 *   `consul-virtual` tagged address (with its own port).
 * - A `terminating-gateway` entry gets one for each service it links; the
 *   gateway's instances carry them as `consul-virtual:<service>`.
 * - A service-resolver, -router or -splitter entry gets one for its name.
 *
 * The first address is 240.0.0.1; a counter keeps the last one handed out,
 * and freed ones are reused (lowest first) before the counter moves. An
 * address is freed when nothing holds its name any more: no instance of the
 * name, no proxy or native instance for it, no resolver, router, splitter,
 * service-defaults or service-intentions entry of that name, and no
 * terminating gateway linking it.
 */
import { configKey } from "./config_entries.ts";
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import type { Tables } from "./tables.ts";
import type { NodeService, ServiceAddress } from "../structs/catalog.ts";

export const VIRTUAL_IPS_TABLE = "service-virtual-ips";
export const VIRTUAL_IPS_TOPIC = "service-virtual-ips";
/** The tagged address a mesh instance carries its service's virtual IP under (Consul's TaggedAddressVirtualIP). */
export const VIRTUAL_IP_TAG = "consul-virtual";
/** A terminating gateway's tagged address for a linked service (Consul's ServiceGatewayVirtualIPTag). */
export const gatewayVirtualIpTag = (service: string): string => `${VIRTUAL_IP_TAG}:${service}`;

/** One allocation: `IP` is the offset from 240.0.0.0. */
export interface VirtualIpRow {
  readonly Service: string;
  readonly IP: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** A freed offset, or (`IsCounter`) the last offset the counter handed out (Consul's FreeVirtualIP). */
export interface FreeVirtualIp {
  readonly IP: number;
  readonly IsCounter: boolean;
}

/** 240.0.0.0 + offset; the last offset handed out is 15.255.255.253 (one below Consul's virtualIPMaxOffset). */
const BASE = 240 * 2 ** 24;
export const MAX_OFFSET = 15 * 2 ** 24 + 0xffffff - 2;
const COUNTER_KEY = "counter";
/** The row keys of the two tables (a snapshot load rebuilds them from the rows). */
export const freeKey = (row: FreeVirtualIp): string => (row.IsCounter ? COUNTER_KEY : `ip:${row.IP.toString().padStart(9, "0")}`);
export const vipKey = (service: string): string => service.toLowerCase();

export function offsetToIp(offset: number): string {
  const n = BASE + offset;
  return `${Math.floor(n / 2 ** 24)}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** The service's virtual IP, or "" (Consul's VirtualIPForService answers "" for none). Names match case-insensitively. */
export function virtualIpForService(t: Tables, service: string): string {
  const row = t.virtualIps.get(vipKey(service));
  return row ? offsetToIp(row.IP) : "";
}

/** Every allocation, sorted by address. */
export function virtualIpList(t: Tables): { Service: string; IP: string; CreateIndex: number; ModifyIndex: number }[] {
  return [...t.virtualIps.values()].sort((a, b) => a.IP - b.IP).map((r) => ({ Service: r.Service, IP: offsetToIp(r.IP), CreateIndex: r.CreateIndex, ModifyIndex: r.ModifyIndex }));
}

/** The service's virtual IP, allocating one if it has none. */
export function assignVirtualIp(ctx: WriteContext, service: string): string {
  const { t } = ctx;
  const key = vipKey(service);
  const existing = t.virtualIps.get(key);
  if (existing) return offsetToIp(existing.IP);
  let lowest: string | null = null;
  for (const [k, v] of t.freeVirtualIps.entries()) if (!v.IsCounter && (lowest === null || k < lowest)) lowest = k;
  let offset: number;
  if (lowest !== null) {
    offset = t.freeVirtualIps.get(lowest)!.IP;
    t.freeVirtualIps.delete(lowest);
  } else {
    offset = (t.freeVirtualIps.get(COUNTER_KEY)?.IP ?? 0) + 1;
    if (offset > MAX_OFFSET) throw new StateError("cannot allocate any more unique service virtual IPs");
    t.freeVirtualIps.set(COUNTER_KEY, { IP: offset, IsCounter: true });
  }
  t.virtualIps.set(key, { Service: service, IP: offset, CreateIndex: ctx.index, ModifyIndex: ctx.index });
  bump(ctx, VIRTUAL_IPS_TABLE);
  touch(ctx, VIRTUAL_IPS_TOPIC);
  return offsetToIp(offset);
}

/** Kinds whose entry of a service's name keeps its virtual IP (Consul's configEntryVIPKinds). */
const HOLDING_KINDS = ["service-resolver", "service-router", "service-splitter", "service-defaults", "service-intentions"];

/** The service name a mesh instance answers for: a proxy's destination, a native service's own name; null otherwise. */
export function meshTarget(svc: Pick<NodeService, "Kind" | "Service" | "Proxy" | "Connect">): string | null {
  if (svc.Kind === "connect-proxy") {
    const dest = (svc.Proxy as { DestinationServiceName?: unknown } | undefined)?.DestinationServiceName;
    return typeof dest === "string" && dest !== "" ? dest : null;
  }
  if (svc.Kind === "" && (svc.Connect as { Native?: unknown } | undefined)?.Native === true) return svc.Service;
  return null;
}

/** The non-wildcard services a terminating-gateway entry links. */
export function linkedServices(t: Tables, gateway: string): string[] {
  const row = t.configEntries.get(configKey("terminating-gateway", gateway));
  const links = (row?.Entry.Services as { Name?: unknown }[] | undefined) ?? [];
  return links.flatMap((l) => (typeof l.Name === "string" && l.Name !== "" && l.Name !== "*" ? [l.Name] : []));
}

function held(t: Tables, service: string, excludeGateway: string | null): boolean {
  if (t.servicesByName.has(service)) return true;
  const lower = service.toLowerCase();
  for (const kind of HOLDING_KINDS) {
    for (const key of t.configEntriesByKind.get(kind) ?? []) if (t.configEntries.get(key)!.Name.toLowerCase() === lower) return true;
  }
  for (const key of t.configEntriesByKind.get("terminating-gateway") ?? []) {
    const gateway = t.configEntries.get(key)!.Name;
    if (gateway !== excludeGateway && linkedServices(t, gateway).some((n) => n.toLowerCase() === lower)) return true;
  }
  // Another spelling of the name, a proxy for it or a native instance of it.
  for (const row of t.services.values()) {
    if (row.Service.Service.toLowerCase() === lower) return true;
    const target = meshTarget(row.Service);
    if (target !== null && target.toLowerCase() === lower) return true;
  }
  return false;
}

/** Frees the service's virtual IP if it has one and nothing holds the name any more. */
export function releaseVirtualIp(ctx: WriteContext, service: string, excludeGateway: string | null = null): void {
  const { t } = ctx;
  const key = vipKey(service);
  const row = t.virtualIps.get(key);
  if (!row || held(t, service, excludeGateway)) return;
  t.virtualIps.delete(key);
  const free = { IP: row.IP, IsCounter: false };
  t.freeVirtualIps.set(freeKey(free), free);
  bump(ctx, VIRTUAL_IPS_TABLE);
  touch(ctx, VIRTUAL_IPS_TOPIC);
}

/**
 * The tagged addresses an instance is stored with: a mesh instance's
 * `consul-virtual`, a terminating gateway's `consul-virtual:<service>` per
 * linked service (stale ones dropped). Allocates what is missing.
 */
export function withVirtualIps<S extends Omit<NodeService, "CreateIndex" | "ModifyIndex">>(ctx: WriteContext, svc: S): S {
  const target = meshTarget(svc);
  if (target !== null) {
    const vip = assignVirtualIp(ctx, target);
    return { ...svc, TaggedAddresses: { ...svc.TaggedAddresses, [VIRTUAL_IP_TAG]: { Address: vip, Port: svc.Port } } };
  }
  if (svc.Kind === "terminating-gateway") return { ...svc, TaggedAddresses: gatewayAddresses(ctx, svc.Service, svc.TaggedAddresses) };
  return svc;
}

function gatewayAddresses(ctx: WriteContext, gateway: string, current: Record<string, ServiceAddress>): Record<string, ServiceAddress> {
  const out: Record<string, ServiceAddress> = {};
  for (const [k, v] of Object.entries(current ?? {})) if (!k.startsWith(`${VIRTUAL_IP_TAG}:`)) out[k] = v;
  for (const name of linkedServices(ctx.t, gateway)) out[gatewayVirtualIpTag(name)] = { Address: assignVirtualIp(ctx, name), Port: 0 };
  return out;
}
