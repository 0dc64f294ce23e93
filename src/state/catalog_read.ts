/** Catalog and health reads, each with the index Consul reports for it. */
import { CHECKS, NODE_EXTINCTION, nodeIndexName, NODES, SERVICE_EXTINCTION, SERVICES, serviceIndexName } from "./catalog.ts";
import { cmp, type ServiceRow, type Tables } from "./tables.ts";
import type { HealthCheck, Node, NodeService } from "../structs/catalog.ts";

export interface Read<T> {
  readonly index: number;
  readonly value: T;
}

export interface CheckServiceNode {
  readonly Node: Node;
  readonly Service: NodeService;
  readonly Checks: HealthCheck[];
}

export function listNodes(t: Tables): Read<Node[]> {
  return { index: t.index(NODES), value: [...t.nodes.values()].sort((a, b) => cmp(a.Node, b.Node)) };
}

/** Service name -> union of its instances' tags, from the name index (no instance is visited). */
export function serviceTags(t: Tables): Read<Map<string, string[]>> {
  const byName = new Map<string, string[]>();
  for (const name of [...t.servicesByName.keys()].sort()) byName.set(name, t.servicesByName.tags(name));
  return { index: t.index(SERVICES), value: byName };
}

/** Service name -> its instances, for reads that filter them. */
export function listServices(t: Tables): Read<Map<string, ServiceRow[]>> {
  const byName = new Map<string, ServiceRow[]>();
  for (const name of [...t.servicesByName.keys()].sort()) byName.set(name, t.instancesOf(name));
  return { index: t.index(SERVICES), value: byName };
}

/**
 * Consul's maxIndexForService: a name with instances reports its own index; a
 * name without any reports the last extinction (so a blocking reader sees its
 * last instance leave); failing both, the catalog tables' index (health reads
 * include the checks table).
 */
function serviceIndex(t: Tables, name: string, exists: boolean, withChecks: boolean): number {
  if (!exists && t.indexes.has(SERVICE_EXTINCTION)) return t.index(SERVICE_EXTINCTION);
  if (t.indexes.has(serviceIndexName(name))) return t.index(serviceIndexName(name));
  return withChecks ? t.maxIndex(CHECKS, SERVICES, NODES) : t.maxIndex(SERVICES, NODES);
}

export function serviceNodes(t: Tables, name: string): Read<{ node: Node; service: NodeService }[]> {
  const rows = t.instancesOf(name).map((r) => ({ node: t.nodes.get(r.Node)!, service: r.Service }));
  return { index: serviceIndex(t, name, rows.length > 0, false), value: rows };
}

/** A node's own index (node and service writes); for a missing node, the last node removal. */
export function nodeWithServices(t: Tables, given: string): Read<{ node: Node; services: NodeService[] } | null> {
  const node = t.nodeName(given);
  const n = t.nodes.get(node);
  if (!n) return { index: t.index(NODE_EXTINCTION), value: null };
  const index = t.indexes.get(nodeIndexName(node)) ?? t.maxIndex(NODES, SERVICES);
  return { index, value: { node: n, services: t.servicesOfNode(node).map((r) => r.Service) } };
}

/**
 * Checks that bear on an instance: the node's own checks and the service's,
 * by CheckID. Picked before they are sorted: a node with ten instances has
 * ten checks or more, of which one or two bear on each (a health listing of
 * 10,000 instances sorted every node's checks for each).
 */
function checksFor(t: Tables, node: string, serviceId: string): HealthCheck[] {
  const keys = t.checksByNode.get(node);
  if (keys === undefined) return [];
  const out: HealthCheck[] = [];
  for (const k of keys) {
    const c = t.checks.get(k)!;
    if (c.ServiceID === "" || c.ServiceID === serviceId) out.push(c);
  }
  if (out.length > 1) out.sort((a, b) => cmp(a.CheckID, b.CheckID));
  return out;
}

export function checkServiceNodes(t: Tables, name: string): Read<CheckServiceNode[]> {
  const value = t.instancesOf(name).map((r) => ({
    Node: t.nodes.get(r.Node)!,
    Service: r.Service,
    Checks: checksFor(t, r.Node, r.Service.ID),
  }));
  return { index: serviceIndex(t, name, value.length > 0, true), value };
}

export function nodeChecks(t: Tables, node: string): Read<HealthCheck[]> {
  return { index: t.index(CHECKS), value: t.checksOfNode(t.nodeName(node)) };
}

export function serviceChecks(t: Tables, name: string): Read<HealthCheck[]> {
  const value: HealthCheck[] = [];
  for (const row of t.instancesOf(name)) {
    for (const c of t.checksOfNode(row.Node)) if (c.ServiceID === row.Service.ID) value.push(c);
  }
  return { index: t.index(CHECKS), value };
}

export function checksInState(t: Tables, state: string): Read<HealthCheck[]> {
  const value = [...t.checks.values()]
    .filter((c) => state === "any" || c.Status === state)
    .sort((a, b) => cmp(a.Node, b.Node) || cmp(a.CheckID, b.CheckID));
  return { index: t.index(CHECKS), value };
}
