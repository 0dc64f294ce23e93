/**
 * Reads of Connect-capable instances of a service (Consul's catalog and health
 * queries with Connect=true): the connect proxies whose
 * Proxy.DestinationServiceName is the service, and the service's own instances
 * that are Connect-native.
 */
import { CHECKS, NODES, SERVICE_EXTINCTION, SERVICES, serviceIndexName } from "./catalog.ts";
import type { CheckServiceNode, Read } from "./catalog_read.ts";
import { cmp, type ServiceRow, type Tables } from "./tables.ts";
import type { Node, NodeService } from "../structs/catalog.ts";

/** Does this instance carry traffic for `service` in the mesh? */
export function servesConnect(svc: NodeService, service: string): boolean {
  if (svc.Kind === "connect-proxy") return (svc.Proxy as { DestinationServiceName?: unknown }).DestinationServiceName === service;
  return svc.Service === service && (svc.Connect as { Native?: unknown }).Native === true;
}

function connectRows(t: Tables): ServiceRow[] {
  const out: ServiceRow[] = [];
  for (const row of t.services.values()) {
    const s = row.Service;
    if (s.Kind === "connect-proxy" || (s.Connect as { Native?: unknown }).Native === true) out.push(row);
  }
  return out;
}

/**
 * The index is the largest of the indexes of every service name involved and
 * of the last service extinction, so it never goes back when a proxy leaves.
 */
function connectIndex(t: Tables, rows: readonly ServiceRow[], service: string, withChecks: boolean): number {
  let index = Math.max(t.index(SERVICE_EXTINCTION), t.indexes.get(serviceIndexName(service)) ?? 0);
  for (const r of rows) index = Math.max(index, t.indexes.get(serviceIndexName(r.Service.Service)) ?? 0);
  if (index === 0) index = withChecks ? t.maxIndex(CHECKS, SERVICES, NODES) : t.maxIndex(SERVICES, NODES);
  return index;
}

function matching(t: Tables, service: string): ServiceRow[] {
  return connectRows(t)
    .filter((r) => servesConnect(r.Service, service))
    .sort((a, b) => cmp(a.Node, b.Node) || cmp(a.Service.ID, b.Service.ID));
}

export function connectServiceNodes(t: Tables, service: string): Read<{ node: Node; service: NodeService }[]> {
  const rows = matching(t, service);
  return { index: connectIndex(t, rows, service, false), value: rows.map((r) => ({ node: t.nodes.get(r.Node)!, service: r.Service })) };
}

export function connectCheckServiceNodes(t: Tables, service: string): Read<CheckServiceNode[]> {
  const rows = matching(t, service);
  const value = rows.map((r) => ({
    Node: t.nodes.get(r.Node)!,
    Service: r.Service,
    Checks: t.checksOfNode(r.Node).filter((c) => c.ServiceID === "" || c.ServiceID === r.Service.ID),
  }));
  return { index: connectIndex(t, rows, service, true), value };
}
