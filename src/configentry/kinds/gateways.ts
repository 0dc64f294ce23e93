/**
 * Gateway kinds: `ingress-gateway`, `terminating-gateway` (config_entry_gateways.go).
 * The API gateway family is in apigw.ts.
 */
import { headerModifiers, meta, passiveHealthCheck } from "./common.ts";
import { arr, type EntryBody, fail, type KindDef, metaProblems, n, o, type Obj, Problems, PROTOCOLS, s, smap, strs, TLS_VERSIONS, WILDCARD } from "./kind.ts";
import { bool, int, list, ptr, str, struct, uint } from "../schema.ts";

const sds = struct(["ClusterName", str, "o"], ["CertResource", str, "o"]);
const gatewayTls = struct(
  ["Enabled", bool],
  ["SDS", ptr(sds), "o", ["sds"]],
  ["TLSMinVersion", str, "o", ["tls_min_version"]],
  ["TLSMaxVersion", str, "o", ["tls_max_version"]],
  ["CipherSuites", list(str), "o"],
);
const ingressService = struct(
  ["Name", str],
  ["Hosts", list(str)],
  ["TLS", ptr(struct(["SDS", ptr(sds), "o", ["sds"]])), "o", ["tls"]],
  ["RequestHeaders", ptr(headerModifiers), "o"],
  ["ResponseHeaders", ptr(headerModifiers), "o"],
  ["MaxConnections", uint, "o"],
  ["MaxPendingRequests", uint, "o"],
  ["MaxConcurrentRequests", uint, "o"],
  ["PassiveHealthCheck", ptr(passiveHealthCheck), "o"],
);
const ingressListener = struct(["Port", int], ["Protocol", str], ["TLS", ptr(gatewayTls), "o", ["tls"]], ["Services", list(ingressService)]);
const ingressDefaults = struct(
  ["MaxConnections", uint, "o"],
  ["MaxPendingRequests", uint, "o"],
  ["MaxConcurrentRequests", uint, "o"],
  ["PassiveHealthCheck", ptr(passiveHealthCheck), "o"],
);

export const ingressGatewaySchema = struct(
  ["Kind", str],
  ["Name", str],
  ["TLS", gatewayTls, "", ["tls"]],
  ["Listeners", list(ingressListener)],
  meta,
  ["Defaults", ptr(ingressDefaults), "o"],
);

const linkedService = struct(
  ["Name", str],
  ["CAFile", str, "o", ["ca_file"]],
  ["CertFile", str, "o"],
  ["KeyFile", str, "o"],
  ["SNI", str, "o", ["sni"]],
  ["DisableAutoHostRewrite", bool, "o"],
);
export const terminatingGatewaySchema = struct(["Kind", str], ["Name", str], ["Services", list(linkedService)], meta);

function tlsProblems(tls: Obj | undefined, prefix: string, p: Problems): void {
  if (!tls) return;
  for (const k of ["TLSMinVersion", "TLSMaxVersion"]) {
    const v = s(tls, k);
    if (v !== "" && !TLS_VERSIONS.has(v)) p.add(`${prefix}${k}: TLS version ${JSON.stringify(v)} is not supported`);
  }
}

export const ingressGateway: KindDef = {
  kind: "ingress-gateway",
  schema: ingressGatewaySchema,
  normalize(e) {
    e.Kind = "ingress-gateway";
    for (const l of arr(e, "Listeners")) {
      l.Protocol = (s(l, "Protocol") || "tcp").toLowerCase();
    }
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
    const tls = o(e, "TLS");
    const tp = new Problems();
    tlsProblems(tls, "", tp);
    if (tp.list.length > 0) fail(tp.list[0]!);
    const ports = new Set<number>();
    for (const l of arr(e, "Listeners")) {
      const port = n(l, "Port");
      if (ports.has(port)) fail(`port ${port} declared on two listeners`);
      ports.add(port);
      const protocol = s(l, "Protocol");
      if (!PROTOCOLS.has(protocol)) fail(`protocol must be 'tcp', 'http', 'grpc' or 'http2'. '${protocol}' is an unsupported protocol`);
      const services = arr(l, "Services");
      if (services.length === 0) fail(`No service declared for listener with port ${port}`);
      if (protocol === "tcp" && services.length > 1) {
        fail(`Multiple services per listener are only supported for L7 protocols, 'http', 'grpc' and 'http2'`);
      }
      const lt = new Problems();
      tlsProblems(o(l, "TLS"), "", lt);
      if (lt.list.length > 0) fail(lt.list[0]!);
      const seen = new Set<string>();
      for (const svc of services) {
        const name = s(svc, "Name");
        if (name === "") fail(`Service name cannot be blank`);
        if (name === WILDCARD && protocol === "tcp") fail(`Wildcard service name is only valid for protocol 'http' listeners`);
        if (seen.has(name)) fail(`Service ${name} cannot be added multiple times to listener ${port}`);
        seen.add(name);
        const hosts = strs(svc, "Hosts");
        if (hosts.length > 0 && protocol === "tcp") fail(`Associating hosts to a service is not supported for the ${protocol} protocol`);
        if (hosts.length > 0 && name === WILDCARD) fail(`Associating hosts to a wildcard service is not supported`);
        for (const h of hosts) {
          if (h === WILDCARD) continue;
          if (h.includes("*") && !h.startsWith("*.")) fail(`Host ${JSON.stringify(h)} is not valid, a wildcard specifier is only allowed as the leftmost label`);
          if (!/^[A-Za-z0-9*][A-Za-z0-9.*:-]*$/.test(h)) fail(`Host ${JSON.stringify(h)} must be a valid DNS hostname`);
        }
      }
    }
  },
};

export const terminatingGateway: KindDef = {
  kind: "terminating-gateway",
  schema: terminatingGatewaySchema,
  normalize(e) {
    e.Kind = "terminating-gateway";
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
    const seen = new Set<string>();
    for (const svc of arr(e, "Services")) {
      const name = s(svc, "Name");
      if (name === "") fail("Service name cannot be blank.");
      if (seen.has(name)) fail(`Service ${JSON.stringify(name)} was specified more than once within a namespace`);
      seen.add(name);
      const ca = s(svc, "CAFile");
      const cert = s(svc, "CertFile");
      const key = s(svc, "KeyFile");
      if ((cert !== "" && key === "") || (key !== "" && cert === "")) fail(`Service ${JSON.stringify(name)} must have a CertFile and KeyFile specified for TLS origination`);
      if (cert !== "" && ca === "") fail(`Service ${JSON.stringify(name)} must have a CAFile specified for TLS origination`);
      if (name === WILDCARD && (ca !== "" || cert !== "" || s(svc, "SNI") !== "")) {
        fail(`Service ${JSON.stringify(name)} cannot have a CAFile, CertFile, KeyFile, or SNI: those are only supported on a specific service`);
      }
    }
  },
};

/** The services an ingress gateway's listeners name, with their listener protocol ("*" included). */
export function ingressServices(e: EntryBody): { name: string; protocol: string; port: number; hosts: string[] }[] {
  const out: { name: string; protocol: string; port: number; hosts: string[] }[] = [];
  for (const l of arr(e, "Listeners")) {
    for (const svc of arr(l, "Services")) out.push({ name: s(svc, "Name"), protocol: s(l, "Protocol") || "tcp", port: n(l, "Port"), hosts: strs(svc, "Hosts") });
  }
  return out;
}


