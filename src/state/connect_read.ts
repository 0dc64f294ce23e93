/**
 * Reads of Connect-capable instances of a service (Consul's catalog and health
 * queries with Connect=true): the connect proxies whose
 * Proxy.DestinationServiceName is the service, the service's own instances
 * that are Connect-native, and the terminating gateways whose
 * `terminating-gateway` config entry links the service (by name, or by `*`
 * for a registered typical service).
 */
import { CHECKS, NODES, SERVICE_EXTINCTION, SERVICES, serviceIndexName } from "./catalog.ts";
import { CONFIG_TABLE } from "./config_entries.ts";
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
  // A terminating-gateway entry can change the answer too; its table's index keeps the answer's index from going back when one is deleted.
  index = Math.max(index, t.index(CONFIG_TABLE));
  for (const r of rows) index = Math.max(index, t.indexes.get(serviceIndexName(r.Service.Service)) ?? 0);
  if (index === 0) index = withChecks ? t.maxIndex(CHECKS, SERVICES, NODES) : t.maxIndex(SERVICES, NODES);
  return index;
}

/** Names of the terminating gateways linking `service` (Consul's gateway-services for kind terminating-gateway). */
export function linkingTerminatingGateways(t: Tables, service: string): string[] {
  const out: string[] = [];
  const keys = t.configEntriesByKind.get("terminating-gateway");
  if (!keys) return out;
  let typical: boolean | null = null;
  for (const key of keys) {
    const row = t.configEntries.get(key);
    const linked = (row?.Entry.Services as { Name?: string }[] | undefined) ?? [];
    const named = linked.some((l) => l.Name === service);
    let wildcard = false;
    if (!named && linked.some((l) => l.Name === "*")) {
      // The wildcard links the typical services that are registered, not proxies or gateways.
      typical ??= t.instancesOf(service).some((r) => r.Service.Kind === "");
      wildcard = typical;
    }
    if (row && (named || wildcard)) out.push(row.Name);
  }
  return out.sort();
}

/** The terminating-gateway instances that carry mesh traffic for `service`. */
export function terminatingGatewayRows(t: Tables, service: string): ServiceRow[] {
  const out: ServiceRow[] = [];
  for (const gw of linkingTerminatingGateways(t, service)) {
    for (const r of t.instancesOf(gw)) if (r.Service.Kind === "terminating-gateway") out.push(r);
  }
  return out;
}

function matching(t: Tables, service: string): ServiceRow[] {
  return [...connectRows(t).filter((r) => servesConnect(r.Service, service)), ...terminatingGatewayRows(t, service)].sort(
    (a, b) => cmp(a.Node, b.Node) || cmp(a.Service.ID, b.Service.ID),
  );
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
