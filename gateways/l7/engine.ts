/**
 * The request path of an L7 upstream, independent of the wire: pick the
 * route, a weighted leg and its cluster, rewrite the path and headers, pick
 * an endpoint (failover targets in order, ejected endpoints skipped, the
 * cluster's load-balancer policy and hash), enforce the circuit breakers,
 * then try, time out and retry as the route says. A Transport (HTTP/1.1
 * over mutual TLS in the sidecar) carries each attempt.
 */
import type { ReplayBody } from "./body.ts";
import { Attempts, type AttemptsContext, local, NO_RETRY_CODES, NO_RETRY_ON } from "./attempts.ts";
import { Deadline, type DeadlineSignal } from "./deadline.ts";
import { applyHeaderModifiers, type Fields, type HeaderModifiers } from "./headers.ts";
import { NO_HASH, requestHash } from "./hash_policy.ts";
import { type Balancer, type HashPolicy, type LbEndpoint, makeBalancer } from "./lb.ts";
import { CircuitBreaker } from "./limits.ts";
import { matcherOf, rewritePath } from "./match.ts";
import { OutlierDetector } from "./outlier.ts";
import type { ChainPlan, ClusterPlan, LegPlan, RoutePlan, TargetPlan } from "./plan.ts";
import { headerGet, type L7Request } from "./request.ts";
import type { UpstreamSettings } from "./upstream_config.ts";

/** Envoy's route timeout when none is configured. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;

export interface Instance {
  readonly address: string;
  readonly port: number;
}

export interface Endpoint extends LbEndpoint {
  readonly address: string;
  readonly port: number;
  readonly target: TargetPlan;
}

export interface OutboundRequest {
  readonly method: string;
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
  readonly stream?: ReplayBody;
  readonly authority?: string;
  /** The bytes an HTTP/1.1 transport may send as they are: the request as it came, neither its target nor a field changed. */
  readonly raw?: Uint8Array;
}

/**
 * The request as routed: its target rewritten, its fields modified (worked
 * out when first asked: a transport that sends the raw bytes never asks).
 */
class Outbound implements OutboundRequest {
  readonly method: string;
  readonly target: string;
  readonly body: Uint8Array;
  readonly stream?: ReplayBody;
  readonly authority?: string;
  readonly raw?: Uint8Array;
  readonly #req: L7Request;
  readonly #mods: readonly (HeaderModifiers | null)[] | null;
  #headers: readonly (readonly [string, string])[] | null = null;

  constructor(req: L7Request, target: string, mods: readonly (HeaderModifiers | null)[] | null) {
    this.method = req.method;
    this.target = target;
    this.body = req.body;
    if (req.stream) this.stream = req.stream;
    if (req.authority !== undefined) this.authority = req.authority;
    if (req.raw && mods === null && target === req.target) this.raw = req.raw;
    this.#req = req;
    this.#mods = mods;
  }

  get headers(): readonly (readonly [string, string])[] {
    return (this.#headers ??= this.#mods ? applyHeaderModifiers(this.#req.headers, this.#mods) : this.#req.headers);
  }
}

export type AttemptOutcome<R> =
  | { readonly kind: "response"; readonly status: number; readonly headers: Fields; readonly response: R }
  | { readonly kind: "failure"; readonly reason: "connect-failure" | "reset" | "overflow"; readonly message: string };

export interface Transport<R> {
  /** One attempt; resolves with the response head (the body is still to be read) or how it failed. */
  send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<R>>;
  /** The same attempt with its outcome handed to `done`, for transports that can do without a promise. */
  start?(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal, done: (o: AttemptOutcome<R>) => void): void;
  /** Drops a response that will not be forwarded (a retried one). */
  discard(r: R): void;
}

export type Handled<R> =
  | { readonly kind: "local"; readonly status: number; readonly headers: Fields; readonly body: string; readonly grpcStatus?: number }
  | {
      readonly kind: "upstream";
      readonly status: number;
      readonly headers: Fields;
      readonly response: R;
      /** Aborts when the request timeout runs out while the body still streams. */
      readonly signal: DeadlineSignal;
      readonly idleTimeoutMs: number;
      /** Whether `headers` differ from the upstream's (header modifiers, a generated cookie): a front may pass the upstream's head on as it came when not. */
      readonly rewritten: boolean;
      /** Call once the body is through (or failed). */
      done(): void;
    };

/** An instance of a cluster's target, built once per instance list; `active` reads the cluster's live count. */
class ClusterEndpoint implements Endpoint {
  readonly address: string;
  readonly port: number;
  readonly key: string;
  readonly target: TargetPlan;
  private readonly counts: ReadonlyMap<string, number>;
  constructor(i: Instance, target: TargetPlan, counts: ReadonlyMap<string, number>) {
    this.address = i.address;
    this.port = i.port;
    this.key = `${i.address}:${i.port}`;
    this.target = target;
    this.counts = counts;
  }
  get active(): number {
    return this.counts.get(this.key) ?? 0;
  }
}

export class ClusterRuntime {
  readonly plan: ClusterPlan;
  readonly breaker: CircuitBreaker;
  readonly outlier: OutlierDetector | null;
  readonly balancer: Balancer;
  readonly connectTimeoutMs: number;
  readonly active = new Map<string, number>();
  readonly key: string;

  constructor(plan: ClusterPlan, settings: UpstreamSettings, key: string) {
    this.plan = plan;
    this.key = key;
    this.breaker = new CircuitBreaker(settings.limits ?? {});
    this.outlier = settings.passiveHealthCheck ? new OutlierDetector(settings.passiveHealthCheck) : null;
    this.balancer = makeBalancer(plan.lb);
    this.connectTimeoutMs = settings.connectTimeoutMs || plan.connectTimeoutMs;
  }

  private readonly built = new Map<string, { readonly from: readonly Instance[]; readonly target: TargetPlan; readonly eps: readonly Endpoint[] }>();

  /** A target's instances as endpoints, rebuilt only when the instance list (or the target) is a new one. */
  endpointsOf(target: TargetPlan, instances: readonly Instance[]): readonly Endpoint[] {
    const b = this.built.get(target.id);
    if (b && b.from === instances && b.target === target) return b.eps;
    const eps = instances.map((i) => new ClusterEndpoint(i, target, this.active));
    this.built.set(target.id, { from: instances, target, eps });
    return eps;
  }
}

/** A leg of a route with what every request sent down it (and its attempts) needs, worked out once per plan instead of per request. */
export class LegRuntime {
  readonly route: RoutePlan;
  readonly leg: LegPlan;
  readonly cluster: ClusterRuntime;
  readonly retries: number;
  readonly retryOn: ReadonlySet<string>;
  readonly retryCodes: ReadonlySet<number>;
  readonly modifiesResponse: boolean;
  /** The route's and the leg's request header modifiers, null when neither has any. */
  readonly requestMods: readonly (HeaderModifiers | null)[] | null;
  readonly timeoutMs: number;
  readonly hashPolicies: readonly HashPolicy[] | null;

  constructor(route: RoutePlan, leg: LegPlan, cluster: ClusterRuntime) {
    this.route = route;
    this.leg = leg;
    this.cluster = cluster;
    this.retries = route.retry?.numRetries ?? 0;
    this.retryOn = route.retry?.on ?? NO_RETRY_ON;
    this.retryCodes = route.retry?.statusCodes ?? NO_RETRY_CODES;
    this.modifiesResponse = leg.responseHeaders !== null || route.responseHeaders !== null;
    this.requestMods = route.requestHeaders || leg.requestHeaders ? [route.requestHeaders, leg.requestHeaders] : null;
    this.timeoutMs = route.requestTimeoutMs || cluster.plan.requestTimeoutMs || DEFAULT_REQUEST_TIMEOUT_MS;
    const hp = (route.lb ?? cluster.plan.lb)?.HashPolicies;
    this.hashPolicies = hp && hp.length > 0 ? hp : null;
  }
}

/** A route's legs as runtimes, with their total weight. */
class RouteRuntime {
  readonly legs: readonly LegRuntime[];
  readonly total: number;

  constructor(route: RoutePlan, clusters: ReadonlyMap<string, ClusterRuntime>) {
    this.legs = route.legs.map((l) => new LegRuntime(route, l, clusters.get(l.cluster)!));
    this.total = route.legs.reduce((a, l) => a + l.weight, 0);
  }

  pick(random: () => number): LegRuntime {
    const legs = this.legs;
    if (legs.length === 1) return legs[0]!;
    let x = random() * this.total;
    for (const l of legs) {
      x -= l.leg.weight;
      if (x < 0) return l;
    }
    return legs[legs.length - 1]!;
  }
}

export class L7Engine<R> {
  private readonly transport: Transport<R>;
  private readonly instances: (targetId: string) => readonly Instance[];
  private readonly random: () => number;
  private plan: ChainPlan | null = null;
  private clusters = new Map<string, ClusterRuntime>();
  /** The current plan's routes as runtimes, each worked out when first taken. */
  private routeRuntimes = new Map<RoutePlan, RouteRuntime>();
  private readonly ctx: AttemptsContext<R>;

  constructor(o: { transport: Transport<R>; instances: (targetId: string) => readonly Instance[]; random?: () => number }) {
    this.transport = o.transport;
    this.instances = o.instances;
    this.random = o.random ?? Math.random;
    this.ctx = { transport: this.transport, random: this.random, endpoints: (c) => this.endpoints(c) };
  }

  get currentPlan(): ChainPlan | null {
    return this.plan;
  }

  get clusterRuntimes(): ReadonlyMap<string, ClusterRuntime> {
    return this.clusters;
  }

  /** Installs a new plan; a cluster whose plan and settings did not change keeps its breaker, ejections and balancer. */
  setPlan(plan: ChainPlan, settings: UpstreamSettings): void {
    const next = new Map<string, ClusterRuntime>();
    for (const [name, c] of plan.clusters) {
      const key = JSON.stringify([c, settings]);
      const prev = this.clusters.get(name);
      next.set(name, prev && prev.key === key ? prev : new ClusterRuntime(c, settings, key));
    }
    this.clusters = next;
    this.routeRuntimes = new Map();
    this.plan = plan;
  }

  /** The endpoints a cluster would use now: the first target with an available instance (failover order). */
  endpoints(c: ClusterRuntime): readonly Endpoint[] {
    const plan = this.plan!;
    let panic: readonly Endpoint[] = [];
    for (const id of c.plan.targets) {
      const all = c.endpointsOf(plan.targets.get(id)!, this.instances(id));
      const live = c.outlier ? all.filter((e) => !c.outlier!.isEjected(e.key)) : all;
      if (live.length > 0) return live;
      if (panic.length === 0) panic = all;
    }
    // Every instance ejected: Envoy's panic mode spreads over all of them rather than failing.
    return panic;
  }

  /** The first route whose host names and match take the request. */
  routeFor(req: L7Request): RoutePlan | null {
    let host: string | null = null;
    for (const r of this.plan?.routes ?? []) {
      if (r.hosts && r.hosts.length > 0) {
        host ??= (headerGet(req.headers, "host") ?? "").replace(/:\d+$/, "").toLowerCase();
        if (!r.hosts.some((h) => h === "*" || h === host || (h.startsWith("*.") && host!.endsWith(h.slice(1))))) continue;
      }
      if (r.match === null || matcherOf(r.match)(req)) return r;
    }
    return null;
  }

  private routeRuntime(route: RoutePlan): RouteRuntime {
    let rt = this.routeRuntimes.get(route);
    if (!rt) {
      rt = new RouteRuntime(route, this.clusters);
      // A route of another plan (a caller that matched before a plan change) is worked out for this request alone.
      if (this.plan?.routes.includes(route)) this.routeRuntimes.set(route, rt);
    }
    return rt;
  }

  /** Routes, splits, forwards and retries one request; `matched` skips matching again (a caller that has done it). */
  handle(req: L7Request, matched?: RoutePlan | null): Promise<Handled<R>> {
    return new Promise((resolve) => this.dispatch(req, matched, resolve));
  }

  /**
   * `handle` without a promise: the answer goes to `done` (at once for a
   * local one). The event-driven HTTP/1.1 front calls this; attempts ride
   * the transport's `start` when it has one.
   */
  dispatch(req: L7Request, matched: RoutePlan | null | undefined, done: (h: Handled<R>) => void): void {
    if (!this.plan) return done(local(503, "no healthy upstream"));
    const route = matched === undefined ? this.routeFor(req) : matched;
    if (!route) return done(local(404, "no route matched"));
    const leg = this.routeRuntime(route).pick(this.random);
    const cluster = leg.cluster;
    const target = rewritePath(route.match, route.prefixRewrite, req.target);
    // Nothing changed: the request goes out as it came (its own bytes, for an HTTP/1.1 transport).
    const out = leg.requestMods === null && target === req.target ? req : new Outbound(req, target, leg.requestMods);
    const { hash, setCookie } = leg.hashPolicies ? requestHash(leg.hashPolicies, req, this.random) : NO_HASH;
    if (!cluster.breaker.tryRequest()) return done(local(503, "upstream connect error or disconnect/reset before headers. reset reason: overflow", [["x-envoy-overloaded", "true"]]));
    new Attempts<R>(this.ctx, leg, req, out, new Deadline(leg.timeoutMs), hash, setCookie, done).start();
  }
}
