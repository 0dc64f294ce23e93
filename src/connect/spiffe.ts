/**
 * SPIFFE IDs as Consul puts them in certificate URI SANs:
 *   service       spiffe://<td>/ns/<ns>/dc/<dc>/svc/<service>
 *   agent         spiffe://<td>/agent/client/dc/<dc>/id/<node>
 *   mesh gateway  spiffe://<td>/gateway/mesh/dc/<dc>
 *   server        spiffe://<td>/agent/server/dc/<dc>
 *   signing (CA)  spiffe://<cluster-id>.consul
 * A non-default admin partition adds a leading /ap/<partition>.
 */
import { CertificateError } from "./errors.ts";

export type SpiffeId =
  | { readonly kind: "service"; readonly host: string; readonly partition: string; readonly namespace: string; readonly datacenter: string; readonly service: string }
  | { readonly kind: "agent"; readonly host: string; readonly partition: string; readonly datacenter: string; readonly agent: string }
  | { readonly kind: "mesh-gateway"; readonly host: string; readonly partition: string; readonly datacenter: string }
  | { readonly kind: "server"; readonly host: string; readonly datacenter: string }
  | { readonly kind: "signing"; readonly clusterId: string; readonly domain: string };

/** The trust domain of a cluster: `<cluster-id>.consul`, lower case (Consul fixes the TLD). */
export function trustDomainFor(clusterId: string): string {
  return `${clusterId}.consul`.toLowerCase();
}

const apPrefix = (partition: string): string => (partition !== "" && partition !== "default" ? `/ap/${partition}` : "");

export function spiffeUri(id: SpiffeId): string {
  switch (id.kind) {
    case "service":
      return `spiffe://${id.host}${apPrefix(id.partition)}/ns/${id.namespace || "default"}/dc/${id.datacenter}/svc/${id.service}`;
    case "agent":
      return `spiffe://${id.host}${apPrefix(id.partition)}/agent/client/dc/${id.datacenter}/id/${id.agent}`;
    case "mesh-gateway":
      return `spiffe://${id.host}${apPrefix(id.partition)}/gateway/mesh/dc/${id.datacenter}`;
    case "server":
      return `spiffe://${id.host}/agent/server/dc/${id.datacenter}`;
    case "signing":
      return `spiffe://${trustDomainFor(id.clusterId)}`;
  }
}

/** Builds the SPIFFE ID of a service in the default namespace and partition. */
export function serviceId(trustDomain: string, datacenter: string, service: string): SpiffeId {
  return { kind: "service", host: trustDomain, partition: "", namespace: "default", datacenter, service };
}

const SERVICE = /^(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;
const AGENT = /^(?:\/ap\/([^/]+))?\/agent\/client\/dc\/([^/]+)\/id\/([^/]+)$/;
const MESH_GATEWAY = /^(?:\/ap\/([^/]+))?\/gateway\/mesh\/dc\/([^/]+)$/;
const SERVER = /^\/agent\/server\/dc\/([^/]+)$/;

function unescape(part: string, what: string): string {
  try {
    return decodeURIComponent(part);
  } catch (err) {
    throw new CertificateError(`Invalid ${what}: ${(err as Error).message}`);
  }
}

/** Parses a certificate URI SAN; the errors are Consul's texts. */
export function parseSpiffeUri(uri: string): SpiffeId {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(uri);
  if (!m || m[1]!.toLowerCase() !== "spiffe") throw new CertificateError("SPIFFE ID must have 'spiffe' scheme");
  const host = m[2]!;
  const path = m[3]!;
  let v: RegExpExecArray | null;
  if ((v = SERVICE.exec(path))) {
    return {
      kind: "service",
      host,
      partition: unescape(v[1] ?? "", "partition"),
      namespace: unescape(v[2]!, "namespace"),
      datacenter: unescape(v[3]!, "datacenter"),
      service: unescape(v[4]!, "service"),
    };
  }
  if ((v = AGENT.exec(path))) {
    return { kind: "agent", host, partition: unescape(v[1] ?? "", "partition"), datacenter: unescape(v[2]!, "datacenter"), agent: unescape(v[3]!, "node") };
  }
  if ((v = MESH_GATEWAY.exec(path))) {
    return { kind: "mesh-gateway", host, partition: unescape(v[1] ?? "", "partition"), datacenter: unescape(v[2]!, "datacenter") };
  }
  if ((v = SERVER.exec(path))) return { kind: "server", host, datacenter: unescape(v[1]!, "datacenter") };
  if (path === "" || path === "/") {
    const dot = host.indexOf(".");
    if (dot > 0) return { kind: "signing", clusterId: host.slice(0, dot), domain: host.slice(dot + 1) };
  }
  throw new CertificateError("SPIFFE ID is not in the expected format");
}

/** Whether a CA of this trust domain may sign for the ID (Consul's SpiffeIDSigning.CanSign). */
export function canSign(trustDomain: string, id: SpiffeId): boolean {
  switch (id.kind) {
    case "signing":
      return `${id.clusterId}.${id.domain}`.toLowerCase() === trustDomain;
    case "service":
    case "mesh-gateway":
    case "server":
      return id.host.toLowerCase() === trustDomain;
    case "agent":
      return false;
  }
}
