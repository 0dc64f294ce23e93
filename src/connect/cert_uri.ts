/**
 * Parses the SPIFFE URIs Consul puts in certificates (agent/connect/uri.go):
 * services `spiffe://<td>[/ap/<partition>]/ns/<ns>/dc/<dc>/svc/<service>`,
 * client agents, servers, mesh gateways, and the bare signing ID.
 */

export type CertURI =
  | { readonly kind: "service"; readonly host: string; readonly partition: string; readonly namespace: string; readonly datacenter: string; readonly service: string }
  | { readonly kind: "agent"; readonly host: string; readonly partition: string; readonly datacenter: string; readonly agent: string }
  | { readonly kind: "server"; readonly host: string; readonly datacenter: string }
  | { readonly kind: "mesh-gateway"; readonly host: string; readonly partition: string; readonly datacenter: string }
  | { readonly kind: "signing"; readonly host: string };

/** A URI that is not one of Consul's SPIFFE IDs; the message is Consul's. */
export class CertURIError extends Error {
  override readonly name = "CertURIError";
}

const SERVICE = /^(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;
const AGENT = /^(?:\/ap\/([^/]+))?\/agent\/client\/dc\/([^/]+)\/id\/([^/]+)$/;
const SERVER = /^\/agent\/server\/dc\/([^/]+)$/;
const MESH_GATEWAY = /^(?:\/ap\/([^/]+))?\/gateway\/mesh\/dc\/([^/]+)$/;

function unescape(v: string): string {
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

/**
 * @example
 * parseCertURI("spiffe://11111111-2222-3333-4444-555555555555.consul/ns/default/dc/dc1/svc/web").service; // "web"
 */
export function parseCertURI(input: string): CertURI {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/([^/?#]*)([^?#]*)/.exec(input);
  if (!m || m[1]!.toLowerCase() !== "spiffe") throw new CertURIError("URI must be a SPIFFE ID");
  const host = m[2]!.toLowerCase();
  const path = m[3]!;
  if (path === "") return { kind: "signing", host };
  let v: RegExpExecArray | null;
  if ((v = SERVICE.exec(path))) {
    return { kind: "service", host, partition: unescape(v[1] ?? "default"), namespace: unescape(v[2]!), datacenter: unescape(v[3]!), service: unescape(v[4]!) };
  }
  if ((v = AGENT.exec(path))) return { kind: "agent", host, partition: unescape(v[1] ?? "default"), datacenter: unescape(v[2]!), agent: unescape(v[3]!) };
  if ((v = SERVER.exec(path))) return { kind: "server", host, datacenter: unescape(v[1]!) };
  if ((v = MESH_GATEWAY.exec(path))) return { kind: "mesh-gateway", host, partition: unescape(v[1] ?? "default"), datacenter: unescape(v[2]!) };
  throw new CertURIError("SPIFFE ID is not in the expected format");
}
