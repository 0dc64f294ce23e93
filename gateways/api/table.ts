/**
 * An API gateway listener's routing table as the shared L7 engine runs it:
 * the http-routes bound to the listener become engine routes (one per
 * match, most specific path first), each rule's services become weighted
 * legs, and each service's own discovery chain (splitter, resolver subsets,
 * failover) is planned with gateways/l7/plan.ts and folded in, so
 * `/api -> api` splits 50/50 over api's subsets when api's splitter says so.
 * Rule filters map the way Consul hands them to Envoy: Headers -> request
 * header modifiers, URLRewrite.Path -> PrefixRewrite, RetryFilter,
 * TimeoutFilter; ResponseFilters -> response header modifiers.
 */
import type { CompiledDiscoveryChainWire } from "../../src/api/discovery_chain.ts";
import { filteredHostnames } from "../../src/configentry/gateway_status.ts";
import { arr, type EntryBody, n, o, type Obj, s } from "../../src/configentry/kinds/kind.ts";
import type { HeaderModifiers } from "../l7/headers.ts";
import type { HeaderMatch, HttpMatch, QueryParamMatch } from "../l7/match.ts";
import { type ChainPlan, type ClusterPlan, type LegPlan, planChain, type RetryPlan, type RoutePlan, type TargetPlan } from "../l7/plan.ts";

/** A JWT provider a route requires, with the claims it must carry. */
export interface JwtRequirement {
  readonly name: string;
  readonly verifyClaims: readonly { readonly path: readonly string[]; readonly value: string }[];
}

export interface ListenerTable {
  readonly plan: ChainPlan;
  /** Per engine route, the JWT providers it requires (empty: none). */
  readonly jwt: ReadonlyMap<RoutePlan, readonly JwtRequirement[]>;
}

function requirements(req: Obj | undefined): JwtRequirement[] {
  return arr(req, "Providers").map((p) => ({
    name: s(p, "Name"),
    verifyClaims: arr(p, "VerifyClaims").map((c) => ({ path: (Array.isArray(c.Path) ? c.Path : []) as string[], value: s(c, "Value") })),
  }));
}

/** Several HTTPHeaderFilters folded into one modifier set, in order. */
function headerMods(filters: Obj[]): HeaderModifiers | null {
  if (filters.length === 0) return null;
  const add: Record<string, string> = {};
  const set: Record<string, string> = {};
  const remove: string[] = [];
  for (const f of filters) {
    Object.assign(add, o(f, "Add") ?? {});
    Object.assign(set, o(f, "Set") ?? {});
    remove.push(...((f.Remove as string[] | undefined) ?? []));
  }
  return { Add: add, Set: set, Remove: remove };
}

function mergeMods(a: HeaderModifiers | null, b: HeaderModifiers | null): HeaderModifiers | null {
  if (!a) return b;
  if (!b) return a;
  return { Add: { ...a.Add, ...b.Add }, Set: { ...a.Set, ...b.Set }, Remove: [...(a.Remove ?? []), ...(b.Remove ?? [])] };
}

function matchOf(m: Obj): HttpMatch {
  const path = o(m, "Path");
  const value = s(path, "Value");
  const kind = s(path, "Match");
  const header: HeaderMatch[] = arr(m, "Headers").map((h) => {
    const name = s(h, "Name");
    const v = s(h, "Value");
    switch (s(h, "Match")) {
      case "prefix":
        return { Name: name, Prefix: v };
      case "suffix":
        return { Name: name, Suffix: v };
      case "regex":
        return { Name: name, Regex: v };
      case "present":
        return { Name: name, Present: true };
      default:
        return { Name: name, Exact: v };
    }
  });
  const query: QueryParamMatch[] = arr(m, "Query").map((q) => {
    const name = s(q, "Name");
    const v = s(q, "Value");
    return s(q, "Match") === "regex" ? { Name: name, Regex: v } : s(q, "Match") === "present" ? { Name: name, Present: true } : { Name: name, Exact: v };
  });
  return {
    ...(kind === "exact" ? { PathExact: value } : kind === "regex" ? { PathRegex: value } : value !== "" && value !== "/" ? { PathPrefix: value } : {}),
    ...(header.length > 0 ? { Header: header } : {}),
    ...(query.length > 0 ? { QueryParam: query } : {}),
    ...(s(m, "Method") !== "" ? { Methods: [s(m, "Method")] } : {}),
  };
}

/** Envoy-like order: exact paths, then longer prefixes, then regexes, then match-all; more conditions first. */
function specificity(m: HttpMatch | null): number[] {
  if (!m) return [4, 0, 0];
  const kind = m.PathExact ? 0 : m.PathPrefix ? 1 : m.PathRegex ? 2 : 3;
  const len = (m.PathExact ?? m.PathPrefix ?? m.PathRegex ?? "").length;
  const conds = (m.Header?.length ?? 0) + (m.QueryParam?.length ?? 0) + (m.Methods?.length ?? 0);
  return [kind, -len, -conds];
}

function retryOf(f: Obj | undefined): RetryPlan | null {
  const r = o(f, "RetryFilter");
  if (!r) return null;
  const on = new Set((r.RetryOn as string[] | undefined) ?? []);
  if (r.RetryOnConnectFailure === true) on.add("connect-failure");
  const codes = new Set((r.RetryOnStatusCodes as number[] | undefined) ?? []);
  if (codes.size > 0) on.add("retriable-status-codes");
  const num = typeof r.NumRetries === "number" ? r.NumRetries : 1;
  if (num === 0 && on.size === 0) return null;
  return { numRetries: num, on, statusCodes: codes };
}

/** The legs a service contributes: its chain's catch-all route's legs, scaled to the service's share. */
function serviceLegs(chain: ChainPlan, share: number, mods: HeaderModifiers | null, respMods: HeaderModifiers | null): LegPlan[] {
  const last = chain.routes[chain.routes.length - 1];
  if (!last) return [];
  const total = last.legs.reduce((a, l) => a + l.weight, 0) || 1;
  return last.legs
    .filter((l) => l.weight > 0)
    .map((l) => ({
      weight: (share * l.weight) / total,
      cluster: l.cluster,
      requestHeaders: mergeMods(l.requestHeaders, mods),
      responseHeaders: mergeMods(l.responseHeaders, respMods),
    }));
}

export class MissingChainError extends Error {
  override readonly name = "MissingChainError";
}

/**
 * The table of one listener. `routes` are the http-routes bound to it
 * (src/configentry/gateway_status.ts boundRoutes); `chains` holds the
 * compiled discovery chain of every service they name.
 */
export function buildListenerTable(gateway: EntryBody, listenerName: string, routes: readonly EntryBody[], chains: ReadonlyMap<string, CompiledDiscoveryChainWire>): ListenerTable {
  const listener = arr(gateway, "Listeners").find((l) => s(l, "Name") === listenerName);
  const clusters = new Map<string, ClusterPlan>();
  const targets = new Map<string, TargetPlan>();
  const planned = new Map<string, ChainPlan>();
  const chainPlan = (svc: string): ChainPlan => {
    let p = planned.get(svc);
    if (!p) {
      const c = chains.get(svc);
      if (!c) throw new MissingChainError(`no discovery chain for service ${JSON.stringify(svc)}`);
      p = planChain(c);
      planned.set(svc, p);
      for (const [k, v] of p.clusters) clusters.set(k, v);
      for (const [k, v] of p.targets) targets.set(k, v);
    }
    return p;
  };
  const listenerDefault = requirements(o(o(listener, "Default"), "JWT"));
  const listenerOverride = requirements(o(o(listener, "Override"), "JWT"));
  const out: { route: RoutePlan; jwt: JwtRequirement[]; order: number[]; seq: number }[] = [];
  let seq = 0;
  for (const route of routes) {
    const hosts = filteredHostnames(route, s(listener, "Hostname")).filter((h) => h !== "*");
    for (const rule of arr(route, "Rules")) {
      const filters = o(rule, "Filters");
      const services = arr(rule, "Services");
      const totalWeight = services.reduce((a, x) => a + Math.max(1, n(x, "Weight")), 0) || 1;
      const legs = services.flatMap((svc) =>
        serviceLegs(
          chainPlan(s(svc, "Name")),
          (10_000 * Math.max(1, n(svc, "Weight"))) / totalWeight,
          headerMods(arr(o(svc, "Filters"), "Headers")),
          headerMods(arr(o(svc, "ResponseFilters"), "Headers")),
        ),
      );
      if (legs.length === 0) continue;
      const ruleJwt = requirements(o(filters, "JWT"));
      // Override wins over everything; a route's own JWT filter replaces the listener default.
      const jwt = listenerOverride.length > 0 ? listenerOverride : ruleJwt.length > 0 ? ruleJwt : listenerDefault;
      const timeout = o(filters, "TimeoutFilter");
      const matches = arr(rule, "Matches");
      for (const m of matches.length > 0 ? matches : [null]) {
        const match = m ? matchOf(m) : null;
        const plan: RoutePlan = {
          match,
          legs,
          prefixRewrite: s(o(filters, "URLRewrite"), "Path"),
          requestTimeoutMs: n(timeout, "RequestTimeout") / 1e6,
          idleTimeoutMs: n(timeout, "IdleTimeout") / 1e6,
          retry: retryOf(filters),
          requestHeaders: headerMods(arr(filters, "Headers")),
          responseHeaders: headerMods(arr(o(rule, "ResponseFilters"), "Headers")),
          lb: null,
          hosts,
        };
        out.push({ route: plan, jwt, order: specificity(match), seq: seq++ });
      }
    }
  }
  out.sort((a, b) => {
    for (let i = 0; i < a.order.length; i++) if (a.order[i] !== b.order[i]) return a.order[i]! - b.order[i]!;
    return a.seq - b.seq;
  });
  const plan: ChainPlan = { protocol: "http", routes: out.map((r) => r.route), clusters, targets };
  return { plan, jwt: new Map(out.map((r) => [r.route, r.jwt])) };
}

/** Every service the routes send traffic to (their chains must be loaded). */
export function routedServices(routes: readonly EntryBody[]): string[] {
  const set = new Set<string>();
  for (const r of routes) for (const rule of arr(r, "Rules")) for (const svc of arr(rule, "Services")) set.add(s(svc, "Name"));
  return [...set].sort();
}
