/**
 * Consul's ServiceTopology (agent/consul/state/catalog.go): a service's
 * upstreams and downstreams with the intention deciding each pair. They come
 * from three places, as in Consul:
 * - proxy registrations: a sidecar's explicit upstreams, an ingress
 *   gateway's services ("proxy-registration");
 * - intentions, for transparent proxies and connect-native services: every
 *   service an intention (or the default) lets them reach, and every service
 *   in transparent mode allowed to reach them ("specific-intention",
 *   "wildcard-intention", "default-allow");
 * - discovery chains: a downstream whose upstream routes here through a
 *   router, splitter or resolver counts, and an upstream that is only routing
 *   config (no instances) is named with source "routing-config".
 */
import { authorizeConnection } from "../../connect/intentions.ts";
import type { Intention } from "../../structs/intention.ts";
import { compileChain } from "../../connect/discoverychain/mod.ts";
import { serviceProtocol } from "../../configentry/graph.ts";
import { type CheckServiceNode, configLookup, intentionMatchOne, type Tables } from "../../state/mod.ts";
import { gatewayServices, serviceWithProxies } from "../../state/ui_read.ts";
import type { NodeService } from "../../structs/catalog.ts";

/** Consul's IntentionDecisionSummary. */
export interface IntentionDecisionSummary {
  readonly DefaultAllow: boolean;
  readonly Allowed: boolean;
  readonly HasPermissions: boolean;
  readonly ExternalSource: string;
  readonly HasExact: boolean;
}

/** Consul's structs.ServiceTopology (names are keys of the decision and source maps). */
export interface ServiceTopologyReply {
  readonly Upstreams: CheckServiceNode[];
  readonly Downstreams: CheckServiceNode[];
  readonly UpstreamDecisions: Record<string, IntentionDecisionSummary>;
  readonly DownstreamDecisions: Record<string, IntentionDecisionSummary>;
  readonly UpstreamSources: Record<string, string>;
  readonly DownstreamSources: Record<string, string>;
  readonly TransparentProxy: boolean;
  readonly MetricsProtocol: string;
}

/** Consul's TopologySource* labels. */
export const TopologySource = {
  Registration: "proxy-registration",
  SpecificIntention: "specific-intention",
  WildcardIntention: "wildcard-intention",
  DefaultAllow: "default-allow",
  RoutingConfig: "routing-config",
} as const;

/** The config entry kinds a discovery chain is routed by (Consul's serviceGraphKinds). */
const ROUTING_KINDS = ["service-router", "service-splitter", "service-resolver"] as const;

export interface TopologyContext {
  readonly defaultAllow: boolean;
  readonly datacenter: string;
  readonly trustDomain: string;
}

const proxyOf = (svc: NodeService) => svc.Proxy as { DestinationServiceName?: unknown; Mode?: unknown; Upstreams?: { DestinationName?: string; DestinationType?: string }[] };
const destinationOf = (svc: NodeService): string => String(proxyOf(svc).DestinationServiceName ?? "");
const isNative = (svc: NodeService): boolean => (svc.Connect as { Native?: unknown }).Native === true;
const isTransparent = (svc: NodeService): boolean => proxyOf(svc).Mode === "transparent";

function upstreamNames(svc: NodeService): string[] {
  return (proxyOf(svc).Upstreams ?? []).filter((u) => (u.DestinationType ?? "service") !== "prepared_query" && u.DestinationName).map((u) => u.DestinationName!);
}

/**
 * Consul's IntentionDecision: the intention in `ixns` that matches the pair
 * decides, else the default. With `allowPermissions` an L7 intention counts as
 * allowing (some requests may pass), as the intention topology judges it.
 */
function decide(ixns: readonly Intention[], source: string, destination: string, defaultAllow: boolean, allowPermissions: boolean): IntentionDecisionSummary {
  const d = authorizeConnection(ixns, { name: source }, { name: destination }, { defaultAllow });
  const exact = d.intention !== null && d.intention.SourceName === source && d.intention.DestinationName === destination;
  const external = (d.intention?.Meta as Record<string, string> | undefined)?.["external-source"] ?? "";
  return { DefaultAllow: d.defaultAllow, Allowed: d.allowed || (allowPermissions && d.hasPermissions), HasPermissions: d.hasPermissions, ExternalSource: external, HasExact: exact };
}

/** How an intention-found link is labelled, as Consul does: an exact intention, else the default allow, else a wildcard intention. */
const intentionSource = (d: IntentionDecisionSummary): string =>
  d.HasExact ? TopologySource.SpecificIntention : d.DefaultAllow ? TopologySource.DefaultAllow : TopologySource.WildcardIntention;

/** Names with an instance of `kind` ("" for typical services). */
function namesOfKind(t: Tables, kind: string): string[] {
  return [...t.servicesByName.keys()].filter((n) => t.instancesOf(n).some((r) => r.Service.Kind === kind));
}

/** Services whose discovery chain ends (somewhere) in `service`: itself, and whatever routes to it. */
function chainSources(t: Tables, service: string, ctx: TopologyContext): string[] {
  const lookup = configLookup(t);
  const candidates = new Set([service]);
  for (const kind of ROUTING_KINDS) for (const e of lookup.list(kind)) candidates.add(String((e as { Name?: unknown }).Name ?? ""));
  const out: string[] = [];
  for (const name of candidates) {
    if (name === "") continue;
    if (name === service) {
      out.push(name);
      continue;
    }
    try {
      const chain = compileChain({ serviceName: name, datacenter: ctx.datacenter, trustDomain: ctx.trustDomain, entries: lookup });
      if (Object.values(chain.Targets).some((tg) => tg.Service === service)) out.push(name);
    } catch {
      // A chain that does not compile routes nowhere.
    }
  }
  return out;
}

/** The services whose proxy registrations (or ingress gateway entries) name `upstream`. */
function registrationDownstreams(t: Tables, upstream: string, into: Set<string>): void {
  for (const row of t.services.values()) {
    if (row.Service.Kind === "connect-proxy" && upstreamNames(row.Service).includes(upstream)) into.add(destinationOf(row.Service));
  }
  for (const key of t.configEntriesByKind.get("ingress-gateway") ?? []) {
    const gw = t.configEntries.get(key)!.Name;
    if (gatewayServices(t, gw).some((gs) => gs.Service.Name === upstream)) into.add(gw);
  }
}

export function topology(t: Tables, service: string, kind: string, ctx: TopologyContext): ServiceTopologyReply {
  const { defaultAllow } = ctx;
  // The service's own proxies: whether they are transparent, and their explicit upstreams.
  const proxies: NodeService[] = [];
  const upstreamSources: Record<string, string> = {};
  if (kind === "ingress-gateway") for (const gs of gatewayServices(t, service)) upstreamSources[gs.Service.Name] = TopologySource.Registration;
  for (const row of t.services.values()) {
    if (row.Service.Kind !== "connect-proxy" || destinationOf(row.Service) !== service) continue;
    proxies.push(row.Service);
    for (const u of upstreamNames(row.Service)) upstreamSources[u] = TopologySource.Registration;
  }
  const hasTransparent = proxies.some(isTransparent);
  const connectNative = kind === "" && t.instancesOf(service).some((r) => isNative(r.Service));

  const asSource = intentionMatchOne(t, "source", service);
  const asDestination = intentionMatchOne(t, "destination", service);
  const upstreamDecisions: Record<string, IntentionDecisionSummary> = {};
  // Only transparent proxies and connect-native services dial what intentions allow.
  if (hasTransparent || connectNative) {
    for (const candidate of namesOfKind(t, "")) {
      if (candidate === "consul" || candidate === service || candidate in upstreamSources) continue;
      const d = decide(asSource, service, candidate, defaultAllow, true);
      if (!d.Allowed) continue;
      upstreamSources[candidate] = intentionSource(d);
    }
  }
  for (const u of Object.keys(upstreamSources)) upstreamDecisions[u] = decide(asSource, service, u, defaultAllow, false);
  const upstreams: CheckServiceNode[] = [];
  for (const u of Object.keys(upstreamSources).sort()) {
    const rows = serviceWithProxies(t, u);
    upstreams.push(...rows);
    // A name without instances that routes somewhere is shown as routing config.
    if (rows.length === 0 && ROUTING_KINDS.some((k) => configLookup(t).get(k, u))) upstreamSources[u] = TopologySource.RoutingConfig;
  }

  const downstreamSources: Record<string, string> = {};
  const fromRegistration = new Set<string>();
  for (const src of chainSources(t, service, ctx)) registrationDownstreams(t, src, fromRegistration);
  for (const d of fromRegistration) downstreamSources[d] = TopologySource.Registration;
  const downstreamDecisions: Record<string, IntentionDecisionSummary> = {};
  const candidates = [...namesOfKind(t, ""), ...namesOfKind(t, "ingress-gateway")];
  for (const candidate of candidates) {
    if (candidate === "consul" || candidate === service || candidate in downstreamSources) continue;
    const d = decide(asDestination, candidate, service, defaultAllow, true);
    if (!d.Allowed) continue;
    downstreamSources[candidate] = intentionSource(d);
  }
  const downstreams: CheckServiceNode[] = [];
  for (const d of Object.keys(downstreamSources).sort()) {
    const rows = serviceWithProxies(t, d);
    // A downstream found by intentions counts only when it can dial by them: a transparent proxy or connect native.
    if (downstreamSources[d] !== TopologySource.Registration && !rows.some((r) => isTransparent(r.Service) || isNative(r.Service))) {
      delete downstreamSources[d];
      continue;
    }
    downstreamDecisions[d] = decide(asDestination, d, service, defaultAllow, false);
    downstreams.push(...rows);
  }

  return {
    Upstreams: upstreams,
    Downstreams: downstreams,
    UpstreamDecisions: upstreamDecisions,
    DownstreamDecisions: downstreamDecisions,
    UpstreamSources: upstreamSources,
    DownstreamSources: downstreamSources,
    // Consul's "fully transparent": every proxy in front of the service is in transparent mode.
    TransparentProxy: proxies.length > 0 && proxies.every(isTransparent),
    MetricsProtocol: kind === "ingress-gateway" ? ingressProtocol(t, service) : serviceProtocol(configLookup(t), service),
  };
}

/** Consul's metricsProtocolForIngressGateway: http when every listener is HTTP-like, else tcp ("" without an entry). */
function ingressProtocol(t: Tables, gateway: string): string {
  const entry = configLookup(t).get("ingress-gateway", gateway) as { Listeners?: { Protocol?: string }[] } | undefined;
  if (!entry) return "";
  const ls = entry.Listeners ?? [];
  const http = ls.filter((l) => ["http", "http2", "grpc"].includes(l.Protocol ?? "tcp")).length;
  return http > 0 && http === ls.length ? "http" : "tcp";
}
