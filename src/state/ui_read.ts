/**
 * The whole-catalog reads behind the web UI's endpoints (Consul's
 * Internal.ServiceDump, NodeDump, GatewayServiceDump and ServiceTopology):
 * every instance with its checks, every node with its services and checks,
 * and the services a gateway's config entry links.
 */
import { CHECKS, NODES, SERVICES } from "./catalog.ts";
import type { CheckServiceNode, Read } from "./catalog_read.ts";
import { CONFIG_TABLE, configLookup } from "./config_entries.ts";
import { cmp, type ServiceRow, type Tables } from "./tables.ts";
import { ingressServices } from "../configentry/kinds/gateways.ts";
import { arr, s } from "../configentry/kinds/kind.ts";
import type { HealthCheck, NodeService } from "../structs/catalog.ts";

/** Consul's structs.NodeInfo: a node with everything registered on it. */
export interface NodeInfo {
  readonly ID: string;
  readonly Node: string;
  readonly Address: string;
  readonly TaggedAddresses: Record<string, string>;
  readonly Meta: Record<string, string>;
  readonly Services: NodeService[];
  readonly Checks: HealthCheck[];
}

/** Consul's structs.GatewayService: a service a gateway's config entry links. */
export interface GatewayService {
  readonly Gateway: { readonly Name: string };
  readonly Service: { readonly Name: string };
  readonly GatewayKind: string;
  readonly Port: number;
  readonly Protocol: string;
  readonly Hosts: string[] | null;
  readonly CAFile: string;
  readonly CertFile: string;
  readonly KeyFile: string;
  readonly SNI: string;
  readonly FromWildcard: boolean;
}

/** One row of Consul's ServiceDump: an instance (absent for a linked service without one) and the gateway link that named it. */
export interface ServiceInfo {
  readonly Node: CheckServiceNode["Node"] | null;
  readonly Service: NodeService | null;
  readonly Checks: HealthCheck[] | null;
  readonly GatewayService: GatewayService | null;
}

/** Consul's IndexedNodesWithGateways. */
export interface NodesWithGateways {
  readonly Nodes: CheckServiceNode[];
  readonly Gateways: GatewayService[];
}

const catalogIndex = (t: Tables): number => t.maxIndex(NODES, SERVICES, CHECKS, CONFIG_TABLE);

function instance(t: Tables, r: ServiceRow, checks: InstanceChecks): CheckServiceNode {
  return { Node: t.nodes.get(r.Node)!, Service: r.Service, Checks: checks.of(r) };
}

/**
 * An instance's checks (its node's and its own, in CheckID order), each node's
 * checks sorted and split by service once: a dump of a node with thousands of
 * services and checks would otherwise sort them all again for each instance.
 */
class InstanceChecks {
  private readonly nodes = new Map<string, { readonly shared: HealthCheck[]; readonly own: Map<string, HealthCheck[]> }>();
  private readonly t: Tables;
  constructor(t: Tables) {
    this.t = t;
  }

  of(r: ServiceRow): HealthCheck[] {
    let n = this.nodes.get(r.Node);
    if (!n) {
      n = { shared: [], own: new Map() };
      for (const c of this.t.checksOfNode(r.Node)) {
        if (c.ServiceID === "") n.shared.push(c);
        else {
          const list = n.own.get(c.ServiceID);
          if (list) list.push(c);
          else n.own.set(c.ServiceID, [c]);
        }
      }
      this.nodes.set(r.Node, n);
    }
    const own = n.own.get(r.Service.ID) ?? [];
    // An instance's own list is its alone; the node's is shared by all of them.
    if (n.shared.length === 0) return own;
    if (own.length === 0) return [...n.shared];
    const out: HealthCheck[] = [];
    let i = 0;
    let j = 0;
    while (i < n.shared.length || j < own.length) {
      if (j === own.length || (i < n.shared.length && cmp(n.shared[i]!.CheckID, own[j]!.CheckID) <= 0)) out.push(n.shared[i++]!);
      else out.push(own[j++]!);
    }
    return out;
  }
}

/** Every instance in the catalog with its node and checks, sorted by service then node. */
export function serviceDump(t: Tables): Read<NodesWithGateways> {
  const nodes: CheckServiceNode[] = [];
  const checks = new InstanceChecks(t);
  for (const name of [...t.servicesByName.keys()].sort()) for (const r of t.instancesOf(name)) nodes.push(instance(t, r, checks));
  return { index: catalogIndex(t), value: { Nodes: nodes, Gateways: allGatewayServices(t) } };
}

/** Every node (or just `node`) with its services and checks. */
export function nodeDump(t: Tables, node?: string): Read<NodeInfo[]> {
  const names = node === undefined ? [...t.nodes.keys()].sort(cmp) : t.nodes.has(node) ? [node] : [];
  const value = names.map((name): NodeInfo => {
    const n = t.nodes.get(name)!;
    return {
      ID: n.ID,
      Node: n.Node,
      Address: n.Address,
      TaggedAddresses: n.TaggedAddresses,
      Meta: n.Meta,
      Services: t.servicesOfNode(name).map((r) => r.Service),
      Checks: t.checksOfNode(name),
    };
  });
  return { index: catalogIndex(t), value };
}

function link(gateway: string, kind: string, service: string, extra: Partial<GatewayService>): GatewayService {
  return { Gateway: { Name: gateway }, Service: { Name: service }, GatewayKind: kind, Port: 0, Protocol: "", Hosts: null, CAFile: "", CertFile: "", KeyFile: "", SNI: "", FromWildcard: false, ...extra };
}

/** The services one gateway's config entry links; a `*` links every typical service (Consul's FromWildcard). */
export function gatewayServices(t: Tables, gateway: string): GatewayService[] {
  const lookup = configLookup(t);
  const out: GatewayService[] = [];
  const typical = () => [...t.servicesByName.keys()].filter((n) => t.instancesOf(n).some((r) => r.Service.Kind === "")).sort();
  const term = lookup.get("terminating-gateway", gateway);
  if (term) {
    for (const svc of arr(term, "Services")) {
      const files = { CAFile: s(svc, "CAFile"), CertFile: s(svc, "CertFile"), KeyFile: s(svc, "KeyFile"), SNI: s(svc, "SNI") };
      const names = s(svc, "Name") === "*" ? typical() : [s(svc, "Name")];
      for (const name of names) out.push(link(gateway, "terminating-gateway", name, { ...files, FromWildcard: s(svc, "Name") === "*" }));
    }
  }
  const ingress = lookup.get("ingress-gateway", gateway);
  if (ingress) {
    for (const svc of ingressServices(ingress)) {
      const names = svc.name === "*" ? typical() : [svc.name];
      for (const name of names) {
        out.push(link(gateway, "ingress-gateway", name, { Port: svc.port, Protocol: svc.protocol, Hosts: svc.hosts.length > 0 ? svc.hosts : null, FromWildcard: svc.name === "*" }));
      }
    }
  }
  return out;
}

function allGatewayServices(t: Tables): GatewayService[] {
  const names = new Set<string>();
  for (const kind of ["terminating-gateway", "ingress-gateway"]) for (const key of t.configEntriesByKind.get(kind) ?? []) names.add(t.configEntries.get(key)!.Name);
  return [...names].sort().flatMap((g) => gatewayServices(t, g));
}

/** Consul's GatewayServiceDump: each linked service's instances with the link, or the link alone when it has none. */
export function gatewayServiceDump(t: Tables, gateway: string): Read<ServiceInfo[]> {
  const value: ServiceInfo[] = [];
  const checks = new InstanceChecks(t);
  for (const gs of gatewayServices(t, gateway)) {
    const rows = t.instancesOf(gs.Service.Name).filter((r) => r.Service.Kind === "");
    if (rows.length === 0) value.push({ Node: null, Service: null, Checks: null, GatewayService: gs });
    for (const r of rows) value.push({ ...instance(t, r, checks), GatewayService: gs });
  }
  return { index: catalogIndex(t), value };
}

/** The instances of `name` and of the sidecar proxies that serve it (a topology entry counts both). */
export function serviceWithProxies(t: Tables, name: string): CheckServiceNode[] {
  const checks = new InstanceChecks(t);
  const out = t.instancesOf(name).map((r) => instance(t, r, checks));
  for (const row of t.services.values()) {
    const svc = row.Service;
    if (svc.Kind === "connect-proxy" && (svc.Proxy as { DestinationServiceName?: unknown }).DestinationServiceName === name) out.push(instance(t, row, checks));
  }
  return out;
}

export { catalogIndex as uiCatalogIndex };
