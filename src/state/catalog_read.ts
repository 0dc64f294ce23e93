/** Catalog and health reads, each with the index Consul reports for it. */
import { CHECKS, NODES, SERVICES, serviceIndexName } from "./catalog.ts";
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

/** Service name -> union of tags across instances. */
export function listServices(t: Tables): Read<Map<string, ServiceRow[]>> {
  const byName = new Map<string, ServiceRow[]>();
  for (const name of [...t.servicesByName.keys()].sort()) byName.set(name, t.instancesOf(name));
  return { index: t.index(SERVICES), value: byName };
}

function serviceIndex(t: Tables, name: string): number {
  return t.index(serviceIndexName(name)) || t.maxIndex(SERVICES, NODES);
}

export function serviceNodes(t: Tables, name: string): Read<{ node: Node; service: NodeService }[]> {
  const rows = t.instancesOf(name).map((r) => ({ node: t.nodes.get(r.Node)!, service: r.Service }));
  return { index: serviceIndex(t, name), value: rows };
}

export function nodeWithServices(t: Tables, node: string): Read<{ node: Node; services: NodeService[] } | null> {
  const n = t.nodes.get(node);
  const index = t.maxIndex(NODES, SERVICES);
  if (!n) return { index, value: null };
  return { index, value: { node: n, services: t.servicesOfNode(node).map((r) => r.Service) } };
}

/** Checks that bear on an instance: the node's own checks and the service's. */
function checksFor(t: Tables, node: string, serviceId: string): HealthCheck[] {
  return t.checksOfNode(node).filter((c) => c.ServiceID === "" || c.ServiceID === serviceId);
}

export function checkServiceNodes(t: Tables, name: string): Read<CheckServiceNode[]> {
  const value = t.instancesOf(name).map((r) => ({
    Node: t.nodes.get(r.Node)!,
    Service: r.Service,
    Checks: checksFor(t, r.Node, r.Service.ID),
  }));
  return { index: serviceIndex(t, name), value };
}

export function nodeChecks(t: Tables, node: string): Read<HealthCheck[]> {
  return { index: t.index(CHECKS) || t.index(NODES), value: t.checksOfNode(node) };
}

export function serviceChecks(t: Tables, name: string): Read<HealthCheck[]> {
  const value: HealthCheck[] = [];
  for (const row of t.instancesOf(name)) {
    for (const c of t.checksOfNode(row.Node)) if (c.ServiceID === row.Service.ID) value.push(c);
  }
  return { index: serviceIndex(t, name), value };
}

export function checksInState(t: Tables, state: string): Read<HealthCheck[]> {
  const value = [...t.checks.values()]
    .filter((c) => state === "any" || c.Status === state)
    .sort((a, b) => cmp(a.Node, b.Node) || cmp(a.CheckID, b.CheckID));
  return { index: t.index(CHECKS) || t.index(NODES), value };
}
