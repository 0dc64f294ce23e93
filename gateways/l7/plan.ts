/**
 * Turns a compiled discovery chain (as /v1/discovery-chain answers it) into
 * what a proxy acts on: an ordered route list (the router's routes and its
 * catch-all, or one route for a chain without a router), each with weighted
 * legs (the splitter's) ending in clusters, and per cluster the targets to
 * try in order (the resolver's target, then its failover targets).
 */
import type { CompiledDiscoveryChainWire, DiscoveryGraphNodeWire } from "../../src/api/mod.ts";
import { parseGoDuration } from "../../src/structs/duration.ts";
import type { HeaderModifiers } from "./headers.ts";
import type { LoadBalancerConfig } from "./lb.ts";
import type { HttpMatch } from "./match.ts";

export interface TargetPlan {
  readonly id: string;
  readonly service: string;
  readonly subset: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly filter: string;
  readonly onlyPassing: boolean;
  readonly sni: string;
  readonly connectTimeoutMs: number;
  /** The target's MeshGateway.Mode as compiled (service-defaults, proxy-defaults); "" when none. */
  readonly meshGatewayMode: string;
}

export interface ClusterPlan {
  /** The resolver's target ID. */
  readonly name: string;
  /** Primary target first, then failover targets in order. */
  readonly targets: readonly string[];
  readonly connectTimeoutMs: number;
  /** The resolver's RequestTimeout (0: unset). */
  readonly requestTimeoutMs: number;
  readonly lb: LoadBalancerConfig | null;
}

export interface RetryPlan {
  readonly numRetries: number;
  readonly on: ReadonlySet<string>;
  readonly statusCodes: ReadonlySet<number>;
}

export interface LegPlan {
  readonly weight: number;
  readonly cluster: string;
  readonly requestHeaders: HeaderModifiers | null;
  readonly responseHeaders: HeaderModifiers | null;
}

export interface RoutePlan {
  readonly match: HttpMatch | null;
  readonly legs: readonly LegPlan[];
  readonly prefixRewrite: string;
  /** The route's RequestTimeout (0: unset, the resolver's or the default applies). */
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly retry: RetryPlan | null;
  readonly requestHeaders: HeaderModifiers | null;
  readonly responseHeaders: HeaderModifiers | null;
  /** The hash-based load balancer of the node the route leads to (its hash policies key the request). */
  readonly lb: LoadBalancerConfig | null;
  /** Host names the route serves (an API gateway route's Hostnames); absent or empty: any. */
  readonly hosts?: readonly string[];
}

export interface ChainPlan {
  readonly protocol: string;
  readonly routes: readonly RoutePlan[];
  readonly clusters: ReadonlyMap<string, ClusterPlan>;
  readonly targets: ReadonlyMap<string, TargetPlan>;
}

export class ChainPlanError extends Error {
  override readonly name = "ChainPlanError";
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | null => (typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : null);
const str = (o: Obj | null, k: string): string => (typeof o?.[k] === "string" ? (o[k] as string) : "");
const msText = (v: unknown): number => (typeof v === "string" && v !== "" ? (parseGoDuration(v) ?? 0) : 0);

function retryPlan(dest: Obj | null): RetryPlan | null {
  if (!dest) return null;
  const num = typeof dest.NumRetries === "number" ? dest.NumRetries : 0;
  const on = new Set(Array.isArray(dest.RetryOn) ? (dest.RetryOn as string[]) : []);
  if (dest.RetryOnConnectFailure === true) on.add("connect-failure");
  const codes = new Set(Array.isArray(dest.RetryOnStatusCodes) ? (dest.RetryOnStatusCodes as number[]) : []);
  if (codes.size > 0) on.add("retriable-status-codes");
  if (num === 0 && on.size === 0) return null;
  return { numRetries: num > 0 ? num : 1, on, statusCodes: codes };
}

export function planChain(chain: CompiledDiscoveryChainWire): ChainPlan {
  const nodes = chain.Nodes ?? {};
  const node = (key: string): DiscoveryGraphNodeWire => {
    const n = nodes[key];
    if (!n) throw new ChainPlanError(`chain ${chain.ServiceName}: missing node ${JSON.stringify(key)}`);
    return n;
  };
  const targets = new Map<string, TargetPlan>();
  for (const [id, t] of Object.entries(chain.Targets ?? {})) {
    targets.set(id, {
      id,
      service: t.Service,
      subset: t.ServiceSubset ?? "",
      namespace: t.Namespace ?? "default",
      datacenter: t.Datacenter ?? chain.Datacenter,
      filter: t.Subset?.Filter ?? "",
      onlyPassing: t.Subset?.OnlyPassing === true,
      sni: t.SNI ?? "",
      connectTimeoutMs: msText(t.ConnectTimeout) || 5_000,
      meshGatewayMode: (t.MeshGateway?.Mode ?? "").toLowerCase(),
    });
  }
  const clusters = new Map<string, ClusterPlan>();
  const clusterOf = (key: string): ClusterPlan => {
    const n = node(key);
    if (n.Type !== "resolver" || !n.Resolver) throw new ChainPlanError(`chain ${chain.ServiceName}: ${key} is not a resolver`);
    const r = n.Resolver;
    let c = clusters.get(r.Target);
    if (!c) {
      const ids = [r.Target, ...(r.Failover?.Targets ?? [])];
      for (const id of ids) if (!targets.has(id)) throw new ChainPlanError(`chain ${chain.ServiceName}: unknown target ${JSON.stringify(id)}`);
      c = {
        name: r.Target,
        targets: ids,
        connectTimeoutMs: msText(r.ConnectTimeout) || 5_000,
        requestTimeoutMs: typeof r.RequestTimeout === "number" ? r.RequestTimeout / 1e6 : 0,
        lb: (n.LoadBalancer as LoadBalancerConfig | undefined) ?? null,
      };
      clusters.set(r.Target, c);
    }
    return c;
  };
  const legsOf = (key: string): { legs: LegPlan[]; lb: LoadBalancerConfig | null } => {
    const n = node(key);
    if (n.Type === "resolver") {
      const c = clusterOf(key);
      return { legs: [{ weight: 100, cluster: c.name, requestHeaders: null, responseHeaders: null }], lb: c.lb };
    }
    if (n.Type !== "splitter") throw new ChainPlanError(`chain ${chain.ServiceName}: ${key} cannot follow a route`);
    const legs = (n.Splits ?? []).map((sp) => ({
      weight: sp.Weight ?? 0,
      cluster: clusterOf(sp.NextNode).name,
      requestHeaders: (obj(sp.Definition)?.RequestHeaders as HeaderModifiers | undefined) ?? null,
      responseHeaders: (obj(sp.Definition)?.ResponseHeaders as HeaderModifiers | undefined) ?? null,
    }));
    return { legs, lb: (n.LoadBalancer as LoadBalancerConfig | undefined) ?? null };
  };
  const start = chain.StartNode ?? "";
  const routes: RoutePlan[] = [];
  const first = node(start);
  if (first.Type === "router") {
    for (const r of first.Routes ?? []) {
      const def = obj(r.Definition);
      const dest = obj(def?.Destination);
      const match = (obj(obj(def?.Match)?.HTTP) as HttpMatch | null) ?? null;
      const { legs, lb } = legsOf(r.NextNode);
      routes.push({
        match,
        legs,
        prefixRewrite: str(dest, "PrefixRewrite"),
        requestTimeoutMs: msText(dest?.RequestTimeout),
        idleTimeoutMs: msText(dest?.IdleTimeout),
        retry: retryPlan(dest),
        requestHeaders: (dest?.RequestHeaders as HeaderModifiers | undefined) ?? null,
        responseHeaders: (dest?.ResponseHeaders as HeaderModifiers | undefined) ?? null,
        lb,
      });
    }
  } else {
    const { legs, lb } = legsOf(start);
    routes.push({ match: null, legs, prefixRewrite: "", requestTimeoutMs: 0, idleTimeoutMs: 0, retry: null, requestHeaders: null, responseHeaders: null, lb });
  }
  return { protocol: chain.Protocol ?? "tcp", routes, clusters, targets };
}
