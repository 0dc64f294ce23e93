/**
 * What a mesh gateway knows and how it picks a destination for a server
 * name: the healthy Connect instances (sidecars, native apps) of every
 * service in its own datacenter (and of every service-resolver subset), and
 * the healthy mesh gateways of every other datacenter. Routing is a pure function of this table and the SNI.
 */
import type { Endpoint } from "../gateway/catalog.ts";
import { parseMeshSni } from "../sni/names.ts";

export interface RoutingTable {
  readonly trustDomain: string;
  readonly datacenter: string;
  /** Local service -> its Connect-capable instances (undefined until loaded). */
  readonly local: (service: string) => readonly Endpoint[] | undefined;
  /** A service-resolver subset -> its instances (undefined when no resolver of this datacenter defines it). */
  readonly subset: (service: string, subset: string) => readonly Endpoint[] | undefined;
  /** Remote datacenter -> its mesh gateways (undefined when the datacenter is unknown). */
  readonly remote: (datacenter: string) => readonly Endpoint[] | undefined;
}

/** Why a connection is refused (a metrics label). */
export type RouteRefusal =
  | "no_sni"
  | "trust_domain"
  | "not_mesh"
  | "unknown_service"
  | "unknown_datacenter"
  | "no_healthy_endpoint"
  | "unknown_subset"
  | "not_ready";

export type Route =
  | { readonly ok: true; readonly kind: "local" | "remote"; readonly label: string; readonly endpoints: readonly Endpoint[]; readonly useWan: boolean }
  | { readonly ok: false; readonly reason: RouteRefusal; readonly detail: string };

export function route(t: RoutingTable | null, sni: string): Route {
  if (!t) return { ok: false, reason: "not_ready", detail: "the routing table is not loaded yet" };
  const parsed = parseMeshSni(sni, t.trustDomain);
  if (!parsed.ok) return parsed;
  const n = parsed.name;
  if (n.datacenter !== t.datacenter.toLowerCase()) {
    const gws = t.remote(n.datacenter);
    if (gws === undefined) return { ok: false, reason: "unknown_datacenter", detail: `datacenter ${JSON.stringify(n.datacenter)} is not known` };
    if (gws.length === 0) return { ok: false, reason: "no_healthy_endpoint", detail: `no healthy mesh gateway in ${n.datacenter}` };
    return { ok: true, kind: "remote", label: `dc:${n.datacenter}`, endpoints: gws, useWan: true };
  }
  if (n.service === "") return { ok: false, reason: "not_mesh", detail: `${JSON.stringify(sni)} names no service of this datacenter` };
  if (n.namespace !== "default" || n.partition !== "default") return { ok: false, reason: "unknown_service", detail: `namespace ${n.namespace} / partition ${n.partition} is not served (default only)` };
  if (n.subset !== "") {
    const list = t.subset(n.service, n.subset);
    const label = `${n.subset}.${n.service}`;
    if (list === undefined) return { ok: false, reason: "unknown_subset", detail: `no service-resolver of ${t.datacenter} defines subset ${JSON.stringify(n.subset)} of ${n.service}` };
    if (list.length === 0) return { ok: false, reason: "no_healthy_endpoint", detail: `no healthy Connect instance in subset ${label}` };
    return { ok: true, kind: "local", label, endpoints: list, useWan: false };
  }
  const list = t.local(n.service);
  if (list === undefined) return { ok: false, reason: "unknown_service", detail: `service ${JSON.stringify(n.service)} is not in the catalog of ${t.datacenter}` };
  if (list.length === 0) return { ok: false, reason: "no_healthy_endpoint", detail: `no healthy Connect instance of ${n.service}` };
  return { ok: true, kind: "local", label: n.service, endpoints: list, useWan: false };
}
