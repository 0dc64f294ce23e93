/**
 * The SNI names a mesh gateway routes on (Consul's agent/connect/sni.go):
 * `[<subset>.]<service>.<namespace>.<dc>.internal.<trust-domain>` in the
 * default partition, `[<subset>.]<service>.<namespace>.<partition>.<dc>.internal-v1.<trust-domain>`
 * elsewhere. A gateway reads the datacenter first (the per-datacenter
 * wildcard `*.<dc>.internal.<td>`), then the service when it is its own.
 */

export interface MeshSni {
  readonly datacenter: string;
  readonly namespace: string;
  readonly partition: string;
  /** "" for a name that only names a datacenter (routable to that datacenter's gateways). */
  readonly service: string;
  /** "" when the name carries no subset. */
  readonly subset: string;
}

/** Why a server name is not routed (a metrics label). */
export type SniRefusal = "no_sni" | "trust_domain" | "not_mesh";

export type SniParse = { readonly ok: true; readonly name: MeshSni } | { readonly ok: false; readonly reason: SniRefusal; readonly detail: string };

const LABEL = /^[a-z0-9_]([a-z0-9_-]*)$/;

/** Parsed names, by trust domain and name: every connection to a service repeats the same few names. */
const parsed = new Map<string, SniParse>();
const PARSED_MAX = 4096;

export function parseMeshSni(sni: string, trustDomain: string): SniParse {
  const key = `${trustDomain}\n${sni}`;
  let r = parsed.get(key);
  if (r === undefined) {
    // A client sending many names cannot grow the cache without bound.
    if (parsed.size >= PARSED_MAX) parsed.clear();
    r = parseUncached(sni, trustDomain);
    parsed.set(key, r);
  }
  return r;
}

function parseUncached(sni: string, trustDomain: string): SniParse {
  const name = sni.toLowerCase();
  const td = trustDomain.toLowerCase();
  if (name === "") return { ok: false, reason: "no_sni", detail: "the ClientHello names no server" };
  let prefix: string;
  let v1: boolean;
  if (name.endsWith(`.internal.${td}`)) {
    prefix = name.slice(0, -`.internal.${td}`.length);
    v1 = false;
  } else if (name.endsWith(`.internal-v1.${td}`)) {
    prefix = name.slice(0, -`.internal-v1.${td}`.length);
    v1 = true;
  } else {
    const m = /\.internal(?:-v1)?\.(.+)$/.exec(name);
    if (m) return { ok: false, reason: "trust_domain", detail: `trust domain ${JSON.stringify(m[1])} is not ${JSON.stringify(td)}` };
    return { ok: false, reason: "not_mesh", detail: `${JSON.stringify(name)} is not a mesh service name` };
  }
  const labels = prefix.split(".");
  const base = v1 ? 4 : 3;
  if (!labels.every((l) => LABEL.test(l))) return { ok: false, reason: "not_mesh", detail: `${JSON.stringify(name)} is not a mesh service name` };
  const datacenter = labels[labels.length - 1]!;
  // Any name under a datacenter routes to that datacenter's gateways; only a local one must name a service.
  if (labels.length !== base && labels.length !== base + 1) return { ok: true, name: { service: "", namespace: "", partition: "", datacenter, subset: "" } };
  const subset = labels.length === base + 1 ? labels.shift()! : "";
  const [service, namespace] = labels as [string, string];
  return {
    ok: true,
    name: { service, namespace, partition: v1 ? labels[2]! : "default", datacenter, subset },
  };
}

/** The name a client dials for a datacenter's gateways by wildcard (`<dc>.internal.<td>`). */
export function datacenterSni(datacenter: string, trustDomain: string): string {
  return `${datacenter}.internal.${trustDomain}`;
}
