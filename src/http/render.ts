/** Wire shapes of catalog rows, with Consul's omitempty rules. */
import { type HealthCheck, type Node, type NodeService, proxyJson, serviceNodeJson } from "../structs/catalog.ts";

export function nodeServiceJson(s: NodeService, datacenter?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.Kind !== "") out.Kind = s.Kind;
  out.ID = s.ID;
  out.Service = s.Service;
  out.Tags = s.Tags;
  out.Address = s.Address;
  if (Object.keys(s.TaggedAddresses).length > 0) out.TaggedAddresses = s.TaggedAddresses;
  out.Meta = s.Meta;
  out.Port = s.Port;
  if (s.SocketPath !== "") out.SocketPath = s.SocketPath;
  out.Weights = s.Weights;
  out.EnableTagOverride = s.EnableTagOverride;
  out.Proxy = proxyJson(s.Proxy);
  out.Connect = s.Connect;
  if (s.Locality) out.Locality = s.Locality;
  if (datacenter !== undefined) out.Datacenter = datacenter;
  out.CreateIndex = s.CreateIndex;
  out.ModifyIndex = s.ModifyIndex;
  return out;
}

export function healthCheckJson(c: HealthCheck): Record<string, unknown> {
  return { ...c };
}

export function nodeJson(n: Node): Record<string, unknown> {
  return { ...n };
}

/** Aggregate status of checks: critical wins over warning over passing. */
export function aggregateStatus(checks: readonly HealthCheck[]): string {
  let status = "passing";
  for (const c of checks) {
    if (c.Status === "critical" || c.Status === "maintenance") return "critical";
    if (c.Status === "warning") status = "warning";
  }
  return status;
}

/** A `/v1/catalog/service/:s` row; ServiceTaggedAddresses is omitempty in Consul's ServiceNode. */
export function serviceNodeWire(node: Node, svc: NodeService): Record<string, unknown> {
  const row = serviceNodeJson(node, svc);
  // JSON leaves out an undefined field; a delete would turn each row into a slow dictionary object, for the encoder too.
  if (Object.keys(svc.TaggedAddresses).length === 0) row.ServiceTaggedAddresses = undefined;
  return row;
}

/** A `/v1/health/service/:s` row. */
export function checkServiceNodeWire(node: Node, service: NodeService, checks: readonly HealthCheck[]): Record<string, unknown> {
  return { Node: nodeJson(node), Service: nodeServiceJson(service), Checks: checks };
}
