/**
 * What Consul's API gateway controller (agent/consul/gateways/controller_gateways.go)
 * decides, as a pure function of the config entries: each api-gateway's and
 * route's Status.Conditions, and which routes bind to which listener. The
 * server's controller writes the conditions (src/server/gateway_controller.ts);
 * the gateway data plane uses the same binding to build its routing table.
 */
import type { EntryLookup } from "./graph.ts";
import { serviceProtocol } from "./graph.ts";
import { arr, type EntryBody, HTTP_LIKE, o, type Obj, s, strs } from "./kinds/kind.ts";

export interface ResourceRef {
  readonly Kind: string;
  readonly Name: string;
  readonly SectionName: string;
}

export interface Condition {
  readonly Type: string;
  readonly Status: "True" | "False" | "Unknown";
  readonly Reason: string;
  readonly Message: string;
  readonly Resource: ResourceRef;
  /** RFC 3339; kept from the previous status while the condition is the same. */
  LastTransitionTime?: string;
}

const NO_REF: ResourceRef = { Kind: "", Name: "", SectionName: "" };
const cond = (Type: string, ok: boolean, Reason: string, Message: string, Resource: ResourceRef = NO_REF): Condition => ({
  Type,
  Status: ok ? "True" : "False",
  Reason,
  Message,
  Resource,
});

const refOf = (r: Obj): ResourceRef => ({ Kind: s(r, "Kind") || "api-gateway", Name: s(r, "Name"), SectionName: s(r, "SectionName") });

/** Which listener names of a gateway a route binds to, or why it does not. */
export interface Binding {
  readonly parent: ResourceRef;
  readonly listeners: readonly string[];
  readonly error: Condition | null;
}

/** Consul's FilteredHostnames: the route's hostnames a listener serves (the listener's own when the route names none). */
export function filteredHostnames(route: EntryBody, listenerHostname: string): string[] {
  const lh = listenerHostname || "*";
  const hostnames = strs(route, "Hostnames");
  if (hostnames.length === 0) return [lh];
  const wildcard = lh.includes("*");
  const base = lh.replace(/^\*/, "").replace(/^\./, "");
  return hostnames.filter((h) => (wildcard ? h.endsWith(base) : h === base));
}

function gatewayConditions(lookup: EntryLookup, gw: EntryBody): { conditions: Condition[]; accepted: boolean } {
  const out: Condition[] = [];
  let certsOk = true;
  let jwtOk = true;
  const listenerConds: Condition[] = [];
  for (const l of arr(gw, "Listeners")) {
    const ref: ResourceRef = { Kind: "api-gateway", Name: gw.Name, SectionName: s(l, "Name") };
    let problem: Condition | null = null;
    for (const c of arr(o(l, "TLS"), "Certificates")) {
      if (!lookup.get(s(c, "Kind") || "inline-certificate", s(c, "Name"))) {
        certsOk = false;
        problem ??= cond("ResolvedRefs", false, "InvalidCertificateRef", `certificate ${JSON.stringify(s(c, "Name"))} not found`, ref);
      }
    }
    for (const policy of ["Override", "Default"]) {
      for (const p of arr(o(o(l, policy), "JWT"), "Providers")) {
        if (!lookup.get("jwt-provider", s(p, "Name"))) {
          jwtOk = false;
          problem ??= cond("ResolvedRefs", false, "InvalidJWTProviderRef", `listener references JWT provider ${JSON.stringify(s(p, "Name"))} that does not exist`, ref);
        }
      }
    }
    listenerConds.push(problem ?? cond("ResolvedRefs", true, "ResolvedRefs", "resolved refs", ref));
  }
  if (!certsOk) out.push(cond("Accepted", false, "InvalidCertificates", "gateway references invalid certificates"));
  else if (!jwtOk) out.push(cond("Accepted", false, "InvalidJWTProviders", "gateway references invalid JWT Providers"));
  else out.push(cond("Accepted", true, "Accepted", "gateway is valid"));
  out.push(...listenerConds);
  return { conditions: out, accepted: certsOk && jwtOk };
}

function routeProtocol(route: EntryBody): "http" | "tcp" {
  return route.Kind === "tcp-route" ? "tcp" : "http";
}

function routeServiceNames(route: EntryBody): string[] {
  if (route.Kind === "tcp-route") return arr(route, "Services").map((x) => s(x, "Name"));
  return arr(route, "Rules").flatMap((r) => arr(r, "Services").map((x) => s(x, "Name")));
}

function routeJwtProviders(route: EntryBody): string[] {
  const names: string[] = [];
  for (const r of arr(route, "Rules")) {
    for (const p of arr(o(o(r, "Filters"), "JWT"), "Providers")) names.push(s(p, "Name"));
    for (const svc of arr(r, "Services")) for (const p of arr(o(o(svc, "Filters"), "JWT"), "Providers")) names.push(s(p, "Name"));
  }
  return names;
}

/** The route's Accepted condition: it targets services, and their protocols fit the route. */
function routeAccepted(lookup: EntryLookup, route: EntryBody): Condition {
  const services = routeServiceNames(route);
  if (services.length === 0) return cond("Accepted", false, "NoUpstreamServicesTargeted", "route must target at least one upstream service");
  for (const svc of services) {
    const protocol = serviceProtocol(lookup, svc);
    const fits = routeProtocol(route) === "http" ? HTTP_LIKE.has(protocol) : protocol === "tcp";
    if (!fits) {
      return cond("Accepted", false, "InvalidDiscoveryChain", `service ${JSON.stringify(svc)} has protocol ${JSON.stringify(protocol)}, which does not match defined listener protocol ${JSON.stringify(routeProtocol(route))}`);
    }
  }
  return cond("Accepted", true, "Accepted", "route is valid");
}

/** Binds one parent reference of an accepted (or not) route to its gateway, as Consul's bindRoute does. */
function bindParent(lookup: EntryLookup, route: EntryBody, routeOk: boolean, parent: ResourceRef, gatewayAccepted: (name: string) => boolean): Binding {
  const gw = lookup.get("api-gateway", parent.Name);
  if (!gw) return { parent, listeners: [], error: cond("Bound", false, "GatewayNotFound", "gateway was not found", parent) };
  const failed = (msg: string): Binding => ({ parent, listeners: [], error: cond("Bound", false, "FailedToBind", msg, parent) });
  const listeners = arr(gw, "Listeners");
  if (listeners.length === 0) return failed("route cannot bind because gateway has no listeners");
  const bound: string[] = [];
  let error: string | null = null;
  for (const l of listeners) {
    const name = s(l, "Name");
    if (parent.SectionName !== "" && parent.SectionName !== name) continue;
    if (!gatewayAccepted(gw.Name)) {
      error = `failed to bind route to gateway ${gw.Name}: gateway has not been accepted`;
      continue;
    }
    if (!routeOk) {
      error = `failed to bind route to gateway ${gw.Name}: route has not been accepted`;
      continue;
    }
    if (route.Kind === "http-route" && filteredHostnames(route, s(l, "Hostname")).length === 0) {
      error = `failed to bind route to gateway ${gw.Name}: listener ${name} is does not have any hostnames that match the route`;
      continue;
    }
    if (s(l, "Protocol") === routeProtocol(route)) bound.push(name);
    else if (parent.SectionName !== "") error = `failed to bind route ${route.Name} to gateway ${gw.Name}: listener ${name} is not a ${routeProtocol(route)} listener`;
  }
  if (bound.length > 0) {
    const missing = routeJwtProviders(route).filter((p) => !lookup.get("jwt-provider", p));
    if (missing.length > 0) {
      return { parent, listeners: [], error: cond("Bound", false, "JWTProvidersNotFound", `route references JWT provider(s) that do not exist: ${missing.join(", ")}`, parent) };
    }
    return { parent, listeners: bound, error: null };
  }
  return failed(error ?? `failed to bind route ${route.Name} to gateway ${gw.Name} with listener '${parent.SectionName}'`);
}

export interface GatewayStatusResult {
  /** "kind\0name" -> the conditions that entry's Status should hold. */
  readonly statuses: Map<string, Condition[]>;
}

export const statusKey = (kind: string, name: string): string => `${kind}\u0000${name}`;

/** Every api-gateway's and route's conditions. */
export function computeGatewayStatuses(lookup: EntryLookup): GatewayStatusResult {
  const statuses = new Map<string, Condition[]>();
  const accepted = new Map<string, boolean>();
  const gateways = lookup.list("api-gateway");
  const gwConds = new Map<string, Condition[]>();
  for (const gw of gateways) {
    const r = gatewayConditions(lookup, gw);
    accepted.set(gw.Name, r.accepted);
    gwConds.set(gw.Name, r.conditions);
  }
  const tcpBound = new Map<string, number>();
  for (const route of [...lookup.list("http-route"), ...lookup.list("tcp-route")]) {
    const acc = routeAccepted(lookup, route);
    const conds: Condition[] = [acc];
    for (const p of arr(route, "Parents")) {
      const b = bindParent(lookup, route, acc.Status === "True", refOf(p), (n) => accepted.get(n) === true);
      conds.push(b.error ?? cond("Bound", true, "Bound", "successfully bound route", b.parent));
      if (route.Kind === "tcp-route") for (const l of b.listeners) tcpBound.set(`${b.parent.Name}\u0000${l}`, (tcpBound.get(`${b.parent.Name}\u0000${l}`) ?? 0) + 1);
    }
    statuses.set(statusKey(route.Kind, route.Name), conds);
  }
  for (const gw of gateways) {
    const conds = gwConds.get(gw.Name)!;
    for (const l of arr(gw, "Listeners")) {
      const ref: ResourceRef = { Kind: "api-gateway", Name: gw.Name, SectionName: s(l, "Name") };
      const conflict = s(l, "Protocol") === "tcp" && (tcpBound.get(`${gw.Name}\u0000${s(l, "Name")}`) ?? 0) > 1;
      conds.push(
        conflict
          ? cond("Conflicted", true, "RouteConflict", "TCP-based listeners currently only support binding a single route", ref)
          : cond("Conflicted", false, "NoConflict", "listener has no route conflicts", ref),
      );
    }
    statuses.set(statusKey("api-gateway", gw.Name), conds);
  }
  return { statuses };
}

/** The routes of one kind bound to a gateway's listener (what the data plane serves there). */
export function boundRoutes(lookup: EntryLookup, gateway: string, listener: string, kind: "http-route" | "tcp-route"): EntryBody[] {
  const gw = lookup.get("api-gateway", gateway);
  if (!gw || !gatewayConditions(lookup, gw).accepted) return [];
  const out: EntryBody[] = [];
  for (const route of lookup.list(kind)) {
    const acc = routeAccepted(lookup, route);
    if (acc.Status !== "True") continue;
    const binds = arr(route, "Parents")
      .map(refOf)
      .filter((p) => p.Name === gateway)
      .some((p) => bindParent(lookup, route, true, p, () => true).listeners.includes(listener));
    if (binds) out.push(route);
  }
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

const sameCondition = (a: Condition, b: Condition): boolean =>
  a.Type === b.Type && a.Status === b.Status && a.Reason === b.Reason && a.Message === b.Message && JSON.stringify(a.Resource) === JSON.stringify(b.Resource);

/**
 * The conditions to store, given the stored ones: null when nothing changed
 * (times aside); otherwise the new list, keeping LastTransitionTime of the
 * conditions that stayed the same and stamping `now` on the others.
 */
export function nextConditions(stored: readonly Condition[], wanted: readonly Condition[], now: string): Condition[] | null {
  const unchanged = stored.length === wanted.length && wanted.every((w, i) => sameCondition(w, stored[i]!));
  if (unchanged) return null;
  return wanted.map((w) => {
    const prev = stored.find((c) => sameCondition(c, w));
    return { ...w, LastTransitionTime: prev?.LastTransitionTime ?? now };
  });
}

/**
 * Whether the data plane serves a route on a listener, from what the
 * controller wrote: the route is Accepted and Bound to this gateway (for
 * this listener, or for every listener of its protocol whose hostname it
 * fits when the parent names none).
 */
export function servedOn(route: EntryBody, gateway: EntryBody, listener: string): boolean {
  const conds = arr(o(route, "Status"), "Conditions");
  const ok = (type: string, pred: (c: Obj) => boolean = () => true) => conds.some((c) => s(c, "Type") === type && s(c, "Status") === "True" && pred(c));
  if (!ok("Accepted")) return false;
  const l = arr(gateway, "Listeners").find((x) => s(x, "Name") === listener);
  if (!l || s(l, "Protocol") !== routeProtocol(route)) return false;
  if (route.Kind === "http-route" && filteredHostnames(route, s(l, "Hostname")).length === 0) return false;
  return ok("Bound", (c) => {
    const r = o(c, "Resource");
    return s(r, "Name") === gateway.Name && (s(r, "SectionName") === "" || s(r, "SectionName") === listener);
  });
}
