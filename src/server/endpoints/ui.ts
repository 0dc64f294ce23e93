/**
 * The Internal.* reads behind the web UI (Consul's internal_endpoint.go):
 * ServiceDump, NodeDump, GatewayServiceDump and ServiceTopology. Each blocks
 * on the whole catalog plus config entries, as Consul's do.
 */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import { BadRequestError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { type CheckServiceNode, configKindTopic, configLookup, intentionMatchOne, type Tables, Topic } from "../../state/mod.ts";
import { gatewayServiceDump, gatewayServices, type NodeInfo, nodeDump, type NodesWithGateways, serviceDump, type ServiceInfo, serviceWithProxies, uiCatalogIndex } from "../../state/ui_read.ts";
import { authorizeConnection } from "../../connect/intentions.ts";
import { serviceProtocol } from "../../configentry/graph.ts";
import type { NodeService } from "../../structs/catalog.ts";

const TOPICS = () => [Topic.Nodes, Topic.Services, Topic.Checks, configKindTopic("")];

export function serviceDumpAll(s: Server, _a: Record<string, never>, o: RequestOptions): MaybePromise<QueryReply<NodesWithGateways>> {
  return blockingRead(s, o, TOPICS, () => serviceDump(s.state.t));
}

export function nodeDumpAll(s: Server, a: { readonly Node?: string }, o: RequestOptions): MaybePromise<QueryReply<NodeInfo[]>> {
  return blockingRead(s, o, TOPICS, () => nodeDump(s.state.t, a.Node));
}

export function gatewayDump(s: Server, a: { readonly ServiceName: string }, o: RequestOptions): MaybePromise<QueryReply<ServiceInfo[]>> {
  if (a.ServiceName === "") throw new BadRequestError("Must provide gateway name");
  return blockingRead(s, o, TOPICS, () => gatewayServiceDump(s.state.t, a.ServiceName));
}

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

const destinationOf = (svc: NodeService): string => String((svc.Proxy as { DestinationServiceName?: unknown }).DestinationServiceName ?? "");

function upstreamNames(svc: NodeService): string[] {
  const ups = (svc.Proxy as { Upstreams?: { DestinationName?: string; DestinationType?: string }[] }).Upstreams ?? [];
  return ups.filter((u) => (u.DestinationType ?? "service") !== "prepared_query" && u.DestinationName).map((u) => u.DestinationName!);
}

function decide(t: Tables, source: string, destination: string, defaultAllow: boolean): IntentionDecisionSummary {
  const d = authorizeConnection(intentionMatchOne(t, "source", source), { name: source }, { name: destination }, { defaultAllow });
  const exact = d.intention !== null && d.intention.SourceName === source && d.intention.DestinationName === destination;
  const external = (d.intention?.Meta as Record<string, string> | undefined)?.["external-source"] ?? "";
  return { DefaultAllow: d.defaultAllow, Allowed: d.allowed, HasPermissions: d.hasPermissions, ExternalSource: external, HasExact: exact };
}

/**
 * Upstreams are the services the given one's proxies (or, for an ingress
 * gateway, its config entry) name; downstreams are the services whose
 * proxies name it, and the ingress gateways that route to it.
 */
export function topology(t: Tables, service: string, kind: string, defaultAllow: boolean): ServiceTopologyReply {
  const ups = new Set<string>();
  const downs = new Set<string>();
  const proxies: NodeService[] = [];
  if (kind === "ingress-gateway") for (const gs of gatewayServices(t, service)) ups.add(gs.Service.Name);
  for (const row of t.services.values()) {
    const svc = row.Service;
    if (svc.Kind !== "connect-proxy") continue;
    if (destinationOf(svc) === service) {
      proxies.push(svc);
      for (const u of upstreamNames(svc)) ups.add(u);
    }
    if (upstreamNames(svc).includes(service)) downs.add(destinationOf(svc));
  }
  for (const key of t.configEntriesByKind.get("ingress-gateway") ?? []) {
    const gw = t.configEntries.get(key)!.Name;
    if (gatewayServices(t, gw).some((gs) => gs.Service.Name === service)) downs.add(gw);
  }
  const upstreamDecisions: Record<string, IntentionDecisionSummary> = {};
  const downstreamDecisions: Record<string, IntentionDecisionSummary> = {};
  const upstreamSources: Record<string, string> = {};
  const downstreamSources: Record<string, string> = {};
  for (const u of ups) {
    upstreamDecisions[u] = decide(t, service, u, defaultAllow);
    upstreamSources[u] = "proxy-registration";
  }
  for (const d of downs) {
    downstreamDecisions[d] = decide(t, d, service, defaultAllow);
    downstreamSources[d] = "proxy-registration";
  }
  return {
    Upstreams: [...ups].sort().flatMap((n) => serviceWithProxies(t, n)),
    Downstreams: [...downs].sort().flatMap((n) => (t.instancesOf(n).length > 0 ? serviceWithProxies(t, n) : [])),
    UpstreamDecisions: upstreamDecisions,
    DownstreamDecisions: downstreamDecisions,
    UpstreamSources: upstreamSources,
    DownstreamSources: downstreamSources,
    TransparentProxy: proxies.length > 0 && proxies.every((p) => (p.Proxy as { Mode?: unknown }).Mode === "transparent"),
    MetricsProtocol: serviceProtocol(configLookup(t), service),
  };
}

export function serviceTopology(s: Server, a: { readonly ServiceName: string; readonly ServiceKind: string }, o: RequestOptions): MaybePromise<QueryReply<ServiceTopologyReply>> {
  if (a.ServiceName === "") throw new BadRequestError("Must provide a service name");
  const defaultAllow = s.config.defaultIntentionPolicy !== "deny";
  return blockingRead(s, o, TOPICS, () => ({ index: uiCatalogIndex(s.state.t), value: topology(s.state.t, a.ServiceName, a.ServiceKind, defaultAllow) }));
}
