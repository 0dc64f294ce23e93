/**
 * Consul's summarizeServices / prepSummaryOutput (agent/ui_endpoint.go): a
 * dump of instances folded into one ServiceSummary per service name, the
 * sidecars' checks counted towards the service they front.
 */
import type { HealthCheck, Node, NodeService } from "../structs/catalog.ts";
import type { GatewayService } from "../state/ui_read.ts";

export interface GatewayConfig {
  AssociatedServiceCount?: number;
  Addresses?: string[];
}

/** Consul's ServiceSummary as the UI endpoints write it. */
export interface ServiceSummary {
  Kind?: string;
  Name: string;
  Datacenter: string;
  Tags: string[] | null;
  Nodes: string[] | null;
  ExternalSources: string[] | null;
  InstanceCount: number;
  ChecksPassing: number;
  ChecksWarning: number;
  ChecksCritical: number;
  GatewayConfig: GatewayConfig;
  TransparentProxy: boolean;
  ConnectNative: boolean;
}

/** One dump row; Node and Service are absent for a gateway link without instances. */
export interface DumpRow {
  readonly Node: Node | null;
  readonly Service: NodeService | null;
  readonly Checks: readonly HealthCheck[] | null;
  readonly GatewayService?: GatewayService | null;
}

interface Work {
  sum: ServiceSummary;
  /** By node and CheckID; made on the first check. */
  checks: Map<string, HealthCheck> | null;
  proxyModeSeen: boolean;
}

/** How a gateway link is reached, for GatewayConfig.Addresses (ingress listeners only). */
export interface GatewayAddressing {
  readonly datacenter: string;
  readonly domains: readonly string[];
}

function ingressAddresses(gs: GatewayService, how: GatewayAddressing): string[] {
  if (gs.Port === 0) return [];
  const hosts = gs.Hosts && gs.Hosts.length > 0 ? gs.Hosts : how.domains.filter((d) => d !== "").map((d) => `${gs.Service.Name}.ingress.${how.datacenter}.${d.replace(/\.$/, "")}`);
  return hosts.map((h) => `${h}:${gs.Port}`);
}

const addUnique = (list: string[] | null, v: string): string[] => (list === null ? [v] : list.includes(v) ? list : [...list, v]);

/**
 * Returns the summaries by name and the names some connect proxy fronts.
 * `gateways` is given only for a gateway's own dump (its links' addresses).
 */
export function summarizeServices(dump: readonly DumpRow[], gateways?: GatewayAddressing): { summaries: Map<string, Work>; hasProxy: Set<string> } {
  const summaries = new Map<string, Work>();
  const hasProxy = new Set<string>();
  // Every summary starts with all its fields (Kind "" until an instance gives one), so they all share one shape.
  const get = (name: string): Work => {
    let w = summaries.get(name);
    if (!w) {
      w = {
        sum: { Kind: "", Name: name, Datacenter: "", Tags: null, Nodes: null, ExternalSources: null, InstanceCount: 0, ChecksPassing: 0, ChecksWarning: 0, ChecksCritical: 0, GatewayConfig: {}, TransparentProxy: false, ConnectNative: false },
        checks: null,
        proxyModeSeen: false,
      };
      summaries.set(name, w);
    }
    return w;
  };
  const addChecks = (w: Work, node: string, checks: readonly HealthCheck[]) => {
    if (checks.length === 0) return;
    w.checks ??= new Map();
    for (const c of checks) w.checks.set(`${node}/${c.CheckID}`, c);
  };
  for (const row of dump) {
    if (gateways && row.GatewayService) {
      const w = get(row.GatewayService.Service.Name);
      for (const a of ingressAddresses(row.GatewayService, gateways)) w.sum.GatewayConfig.Addresses = addUnique(w.sum.GatewayConfig.Addresses ?? null, a);
    }
    const svc = row.Service;
    const node = row.Node;
    if (!svc || !node) continue;
    const w = get(svc.Service);
    w.sum.Nodes = addUnique(w.sum.Nodes, node.Node);
    w.sum.Kind = svc.Kind;
    w.sum.Datacenter = node.Datacenter;
    w.sum.InstanceCount += 1;
    if ((svc.Connect as { Native?: unknown }).Native === true) w.sum.ConnectNative = true;
    const checks = row.Checks ?? [];
    if (svc.Kind === "connect-proxy") {
      const dest = String((svc.Proxy as { DestinationServiceName?: unknown }).DestinationServiceName ?? "");
      hasProxy.add(dest);
      const d = get(dest);
      addChecks(d, node.Node, checks);
      // The destination counts as transparent only when every proxy in front of it is.
      const transparent = (svc.Proxy as { Mode?: unknown }).Mode === "transparent";
      if (transparent && !d.proxyModeSeen) d.sum.TransparentProxy = true;
      if (!transparent) d.sum.TransparentProxy = false;
      d.proxyModeSeen = true;
    }
    for (const tag of svc.Tags) w.sum.Tags = addUnique(w.sum.Tags, tag);
    const source = svc.Meta["external-source"];
    if (source) w.sum.ExternalSources = addUnique(w.sum.ExternalSources, source);
    addChecks(w, node.Node, checks);
  }
  return { summaries, hasProxy };
}

/** Counts checks, sorts names, tags and nodes; drops proxies and other non-typical kinds when asked (topology). */
export function prepSummaryOutput(summaries: Map<string, Work>, excludeSidecars: boolean): ServiceSummary[] {
  const out: ServiceSummary[] = [];
  for (const { sum, checks } of summaries.values()) {
    sum.Nodes?.sort();
    sum.Tags?.sort();
    for (const c of checks?.values() ?? []) {
      if (c.Status === "passing") sum.ChecksPassing++;
      else if (c.Status === "warning") sum.ChecksWarning++;
      else if (c.Status === "critical") sum.ChecksCritical++;
    }
    if (excludeSidecars && (sum.Kind ?? "") !== "" && sum.Kind !== "ingress-gateway") continue;
    out.push(sum);
  }
  return out.sort((a, b) => (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
}

/** Writes the summary as Consul does: Kind (first) only when set. */
export function summaryJson(s: ServiceSummary): ServiceSummary {
  if (s.Kind === "" || s.Kind === undefined) {
    const { Kind: _kind, ...rest } = s;
    return rest;
  }
  return s;
}
