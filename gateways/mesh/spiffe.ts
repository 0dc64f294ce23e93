/**
 * SPIFFE identities and SNI names as Consul's data plane uses them
 * (agent/connect/uri_service.go, agent/connect/sni.go): a service identity is
 * `spiffe://<trust-domain>[/ap/<partition>]/ns/<ns>/dc/<dc>/svc/<service>`,
 * and a client names its destination as `<svc>.<ns>.<dc>.internal.<trust-domain>`.
 */

export interface ServiceIdentity {
  readonly trustDomain: string;
  readonly partition: string;
  readonly namespace: string;
  readonly datacenter: string;
  readonly service: string;
}

const SERVICE_PATH = /^(?:\/ap\/([^/]+))?\/ns\/([^/]+)\/dc\/([^/]+)\/svc\/([^/]+)$/;

/** Parses a service SPIFFE URI; null for anything else (agents, gateways, other schemes). */
export function parseServiceUri(uri: string): ServiceIdentity | null {
  if (!uri.toLowerCase().startsWith("spiffe://")) return null;
  const rest = uri.slice("spiffe://".length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return null;
  const m = SERVICE_PATH.exec(rest.slice(slash));
  if (!m) return null;
  try {
    return {
      trustDomain: rest.slice(0, slash).toLowerCase(),
      partition: decodeURIComponent(m[1] ?? "default"),
      namespace: decodeURIComponent(m[2]!),
      datacenter: decodeURIComponent(m[3]!),
      service: decodeURIComponent(m[4]!),
    };
  } catch {
    return null;
  }
}

export function serviceUri(id: Omit<ServiceIdentity, "partition"> & { partition?: string }): string {
  const ap = id.partition && id.partition !== "default" ? `/ap/${id.partition}` : "";
  return `spiffe://${id.trustDomain}${ap}/ns/${id.namespace}/dc/${id.datacenter}/svc/${id.service}`;
}

/** Consul's ServiceSNI for the default partition (`[<subset>.]<service>.<ns>.<dc>.internal.<td>`). */
export function serviceSni(service: string, namespace: string, datacenter: string, trustDomain: string, subset = ""): string {
  return `${subset ? `${subset}.` : ""}${service}.${namespace || "default"}.${datacenter}.internal.${trustDomain}`;
}

/**
 * The URIs of a certificate as node:tls reports them in `subjectaltname`
 * (`"URI:spiffe://..., DNS:x"`); values containing commas are quoted there.
 */
export function uriSans(subjectaltname: string | undefined): string[] {
  if (!subjectaltname) return [];
  const out: string[] = [];
  const re = /(?:^|,\s*)URI:(?:"((?:[^"\\]|\\.)*)"|([^,]*))/g;
  for (let m = re.exec(subjectaltname); m; m = re.exec(subjectaltname)) out.push(m[1] !== undefined ? JSON.parse(`"${m[1]}"`) as string : m[2]!.trim());
  return out;
}
