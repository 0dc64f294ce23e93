/**
 * `/v1/internal/ui/*` (Consul's agent/ui_endpoint.go): the summaries the web
 * UI lists, with Consul's shapes so Consul's own UI can talk to this agent.
 */
import type { Context, Hono } from "hono";
import { type ApiContext, applyFilter, json, queryOptions, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { nodeServiceJson } from "./render.ts";
import { type DumpRow, prepSummaryOutput, summarizeServices, summaryJson } from "./ui_summary.ts";
import { metricsProxy } from "./ui_metrics_proxy.ts";
import type { NodeInfo } from "../state/ui_read.ts";
import { type ServiceTopologyReply, TopologySource } from "../server/endpoints/ui_topology.ts";
import { nodeInfoSchema } from "../filter/mod.ts";

/** What the agent configured for its web UI (`ui_config`). */
export interface UiOptions {
  readonly enabled: boolean;
  /** Where the single-page app is mounted (`ui_config.content_path`, "/ui/"). */
  readonly contentPath: string;
  /** `ui_config.dir`: serve these files instead of the built-in UI ("" for the built-in one). */
  readonly dir: string;
  readonly metricsProxy: MetricsProxyOptions;
  /** `domain` and `alt_domain`, for ingress gateway addresses. */
  readonly dnsDomains: readonly string[];
}

/** `ui_config.metrics_proxy`. */
export interface MetricsProxyOptions {
  readonly baseUrl: string;
  readonly pathAllowlist: readonly string[];
  readonly addHeaders: readonly { readonly name: string; readonly value: string }[];
}

function nodeInfoJson(n: NodeInfo): Record<string, unknown> {
  return { ...n, Services: n.Services.map((s) => nodeServiceJson(s)), Checks: n.Checks };
}

function pathRest(c: Context, prefix: string, missing: string): string {
  let rest: string;
  try {
    rest = decodeURIComponent(urlOf(c).pathname.slice(prefix.length));
  } catch {
    throw new HttpError(400, `Invalid URL path escape: ${urlOf(c).pathname}`);
  }
  if (rest === "") throw new HttpError(400, missing);
  return rest;
}

/**
 * ServiceListingSummary: a summary plus whether a proxy or a gateway connects
 * the service, each row built once (the list holds every service, 5,000 and more).
 */
function listing(dump: readonly DumpRow[], gateways: readonly { Gateway: { Name: string }; Service: { Name: string } }[]): Record<string, unknown>[] {
  const byService = new Map<string, string[]>();
  const linked = new Map<string, number>();
  for (const g of gateways) {
    const list = byService.get(g.Service.Name);
    if (list) list.push(g.Gateway.Name);
    else byService.set(g.Service.Name, [g.Gateway.Name]);
    linked.set(g.Gateway.Name, (linked.get(g.Gateway.Name) ?? 0) + 1);
  }
  const { summaries, hasProxy } = summarizeServices(dump);
  return prepSummaryOutput(summaries, false).map((sum) => {
    const count = linked.get(sum.Name);
    const row = {
      Name: sum.Name,
      Datacenter: sum.Datacenter,
      Tags: sum.Tags,
      Nodes: sum.Nodes,
      ExternalSources: sum.ExternalSources,
      InstanceCount: sum.InstanceCount,
      ChecksPassing: sum.ChecksPassing,
      ChecksWarning: sum.ChecksWarning,
      ChecksCritical: sum.ChecksCritical,
      GatewayConfig: count ? { ...sum.GatewayConfig, AssociatedServiceCount: count } : sum.GatewayConfig,
      TransparentProxy: sum.TransparentProxy,
      ConnectNative: sum.ConnectNative,
      ConnectedWithProxy: hasProxy.has(sum.Name),
      ConnectedWithGateway: sum.InstanceCount > 0 && (byService.get(sum.Name) ?? []).some((g) => summaries.has(g)),
    };
    // Kind leads, as in Consul's ServiceSummary, and only when set.
    return sum.Kind ? { Kind: sum.Kind, ...row } : row;
  });
}

function topologyJson(t: ServiceTopologyReply, dc: string): Record<string, unknown> {
  const side = (rows: DumpRow[], decisions: ServiceTopologyReply["UpstreamDecisions"], sources: Record<string, string>) =>
    prepSummaryOutput(summarizeServices(rows).summaries, true).map((s) => ({
      ...summaryJson({ ...s, Datacenter: s.Datacenter || dc }),
      Source: sources[s.Name] ?? "",
      Intention: decisions[s.Name] ?? { DefaultAllow: false, Allowed: false, HasPermissions: false, ExternalSource: "", HasExact: false },
    }));
  // Upstreams that are only routing config (a router, splitter or resolver without instances) are listed by name.
  const routing = Object.keys(t.UpstreamSources)
    .filter((n) => t.UpstreamSources[n] === TopologySource.RoutingConfig)
    .sort()
    .map((Name) => {
      const empty = { Name, Datacenter: dc, Tags: null, Nodes: null, ExternalSources: null, InstanceCount: 0, ChecksPassing: 0, ChecksWarning: 0, ChecksCritical: 0, GatewayConfig: {}, TransparentProxy: false, ConnectNative: false };
      return { ...empty, Source: TopologySource.RoutingConfig, Intention: t.UpstreamDecisions[Name] };
    });
  return {
    Protocol: t.MetricsProtocol,
    TransparentProxy: t.TransparentProxy,
    Upstreams: [...side(t.Upstreams, t.UpstreamDecisions, t.UpstreamSources), ...routing],
    Downstreams: side(t.Downstreams, t.DownstreamDecisions, t.DownstreamSources),
    FilteredByACLs: false,
  };
}

export function uiRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/internal/ui/services", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Internal.ServiceDump", {}, q), (v, q) => json(c, listing(v.Nodes, v.Gateways), q));
  });

  app.get("/v1/internal/ui/nodes", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Internal.NodeDump", {}, q), (v, q) => json(c, applyFilter(v, q, nodeInfoSchema).map(nodeInfoJson), q));
  });

  app.get("/v1/internal/ui/node/*", (c) => {
    const node = pathRest(c, "/v1/internal/ui/node/", "Missing node name");
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Internal.NodeDump", { Node: node }, q), (v, q) => {
      const info = v[0];
      if (!info) return c.body(null, 404);
      return json(c, nodeInfoJson(info), q);
    });
  });

  app.get("/v1/internal/ui/gateway-services-nodes/*", (c) => {
    const gateway = pathRest(c, "/v1/internal/ui/gateway-services-nodes/", "Missing gateway name");
    const q = queryOptions(c, api);
    const how = { datacenter: q.datacenter, domains: api.ui?.dnsDomains ?? ["consul."] };
    return reply(c, q, api.rpc.call("Internal.GatewayServiceDump", { ServiceName: gateway }, q), (v, q) =>
      json(c, prepSummaryOutput(summarizeServices(v, how).summaries, false).map(summaryJson), q),
    );
  });

  app.get("/v1/internal/ui/service-topology/*", (c) => {
    const service = pathRest(c, "/v1/internal/ui/service-topology/", "Missing service name");
    const url = urlOf(c);
    const kind = url.searchParams.get("kind");
    if (kind === null) throw new HttpError(400, "Missing service kind");
    if (kind !== "" && kind !== "ingress-gateway") throw new HttpError(400, `Unsupported service kind "${kind}"`);
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Internal.ServiceTopology", { ServiceName: service, ServiceKind: kind }, q), (v, q) => json(c, topologyJson(v, q.datacenter), q));
  });

  app.all("/v1/internal/ui/metrics-proxy/*", (c) => metricsProxy(c, api));
  app.all("/v1/internal/ui/metrics-proxy", (c) => metricsProxy(c, api));
}
