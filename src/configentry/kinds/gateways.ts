/**
 * Gateway kinds: `ingress-gateway`, `terminating-gateway` (config_entry_gateways.go),
 * and the API gateway family: `api-gateway`, `http-route`, `tcp-route`,
 * `inline-certificate` (config_entry_apigw*.go, config_entry_routes.go).
 */
import { headerModifiers, meta, passiveHealthCheck, resourceReference, status } from "./common.ts";
import { arr, type EntryBody, fail, type KindDef, metaProblems, n, o, type Obj, Problems, PROTOCOLS, s, smap, strs, TLS_VERSIONS, WILDCARD } from "./kind.ts";
import { bool, durationNs, int, list, ptr, str, strMap, struct, uint } from "../schema.ts";

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

const apiGatewayTls = struct(
  ["Certificates", list(resourceReference)],
  ["MaxVersion", str, "o", ["tls_max_version"]],
  ["MinVersion", str, "o", ["tls_min_version"]],
  ["CipherSuites", list(str), "o"],
);
const apiGatewayListener = struct(["Name", str], ["Hostname", str], ["Port", int], ["Protocol", str], ["TLS", apiGatewayTls, "", ["tls"]]);
export const apiGatewaySchema = struct(["Kind", str], ["Name", str], ["Listeners", list(apiGatewayListener)], ["Status", status], meta);

const headerFilter = struct(["Add", strMap], ["Remove", list(str)], ["Set", strMap]);
const httpFilters = struct(
  ["Headers", list(headerFilter)],
  ["URLRewrite", ptr(struct(["Path", str])), "", ["url_rewrite"]],
  ["RetryFilter", ptr(struct(["NumRetries", uint], ["RetryOn", list(str)], ["RetryOnStatusCodes", list(uint)], ["RetryOnConnectFailure", bool]))],
  ["TimeoutFilter", ptr(struct(["RequestTimeout", durationNs], ["IdleTimeout", durationNs]))],
);
const httpResponseFilters = struct(["Headers", list(headerFilter)]);
const httpMatch = struct(
  ["Headers", list(struct(["Match", str], ["Name", str], ["Value", str]))],
  ["Method", str],
  ["Path", struct(["Match", str], ["Value", str])],
  ["Query", list(struct(["Match", str], ["Name", str], ["Value", str]))],
);
const httpService = struct(["Name", str], ["Weight", int], ["Filters", httpFilters], ["ResponseFilters", httpResponseFilters]);
const httpRouteRule = struct(["Filters", httpFilters], ["ResponseFilters", httpResponseFilters], ["Matches", list(httpMatch)], ["Services", list(httpService)]);
export const httpRouteSchema = struct(
  ["Kind", str],
  ["Name", str],
  ["Parents", list(resourceReference)],
  ["Rules", list(httpRouteRule)],
  ["Hostnames", list(str)],
  meta,
  ["Status", status],
);
export const tcpRouteSchema = struct(["Kind", str], ["Name", str], ["Parents", list(resourceReference)], ["Services", list(struct(["Name", str]))], meta, ["Status", status]);
export const inlineCertificateSchema = struct(["Kind", str], ["Name", str], ["Certificate", str], ["PrivateKey", str], meta);

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

export const apiGateway: KindDef = {
  kind: "api-gateway",
  schema: apiGatewaySchema,
  normalize(e) {
    e.Kind = "api-gateway";
    for (const l of arr(e, "Listeners")) l.Protocol = s(l, "Protocol").toLowerCase();
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    const names = new Set<string>();
    const bound = new Set<string>();
    for (const l of arr(e, "Listeners")) {
      const name = s(l, "Name");
      if (names.has(name)) fail(`found multiple listeners with the name ${name}`);
      names.add(name);
      const protocol = s(l, "Protocol");
      if (protocol !== "http" && protocol !== "tcp") fail(`unsupported listener protocol ${JSON.stringify(protocol)}, must be one of 'tcp', 'http'`);
      const port = n(l, "Port");
      if (port < 1 || port > 65535) fail(`listener port ${port} not in the range 1-65535`);
      const key = `${s(l, "Hostname")}:${port}`;
      if (bound.has(key)) fail(`found multiple listeners with the same hostname and port ${key}`);
      bound.add(key);
      for (const c of arr(o(l, "TLS"), "Certificates")) {
        const kind = s(c, "Kind");
        if (kind !== "inline-certificate" && kind !== "file-system-certificate") fail(`unsupported certificate kind: ${JSON.stringify(kind)}, must be 'inline-certificate' or 'file-system-certificate'`);
        if (s(c, "Name") === "") fail("certificate reference must have a name");
      }
    }
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
  },
};

function parentProblems(e: EntryBody): void {
  for (const parent of arr(e, "Parents")) {
    const kind = s(parent, "Kind") || "api-gateway";
    if (kind !== "api-gateway") fail(`unsupported parent kind: ${JSON.stringify(kind)}, must be 'api-gateway'`);
    if (s(parent, "Name") === "") fail("parent reference must have a name");
  }
}

export const httpRoute: KindDef = {
  kind: "http-route",
  schema: httpRouteSchema,
  normalize(e) {
    e.Kind = "http-route";
    for (const p of arr(e, "Parents")) if (s(p, "Kind") === "") p.Kind = "api-gateway";
    for (const r of arr(e, "Rules")) {
      for (const m of arr(r, "Matches")) {
        if (typeof m.Method === "string") m.Method = m.Method.toUpperCase();
        const path = o(m, "Path");
        if (path && s(path, "Match") === "" && s(path, "Value") === "") {
          path.Match = "prefix";
          path.Value = "/";
        }
      }
      if (arr(r, "Matches").length === 0) r.Matches = [{ Path: { Match: "prefix", Value: "/" } }];
      for (const svc of arr(r, "Services")) if (n(svc, "Weight") < 1) svc.Weight = 1;
    }
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    parentProblems(e);
    arr(e, "Rules").forEach((r, i) => {
      if (arr(r, "Services").length === 0) fail(`rule ${i} must have at least one service`);
      for (const svc of arr(r, "Services")) if (s(svc, "Name") === "") fail(`rule ${i} has a service with no name`);
      for (const m of arr(r, "Matches")) {
        const path = o(m, "Path");
        const match = s(path, "Match");
        if (match !== "" && !["exact", "prefix", "regex"].includes(match)) fail(`Rule[${i}], Match: unsupported path match type ${JSON.stringify(match)}`);
        if ((match === "exact" || match === "prefix") && !s(path, "Value").startsWith("/")) fail(`Rule[${i}], Match: path match value must start with '/'`);
        const method = s(m, "Method");
        if (method !== "" && !["CONNECT", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"].includes(method)) fail(`Rule[${i}], Match: invalid method ${JSON.stringify(method)}`);
      }
    });
    for (const h of strs(e, "Hostnames")) if (h === "" || (h.includes("*") && !h.startsWith("*."))) fail(`hostname ${JSON.stringify(h)} is not valid`);
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
  },
};

export const tcpRoute: KindDef = {
  kind: "tcp-route",
  schema: tcpRouteSchema,
  normalize(e) {
    e.Kind = "tcp-route";
    for (const p of arr(e, "Parents")) if (s(p, "Kind") === "") p.Kind = "api-gateway";
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    if (arr(e, "Services").length > 1) fail(`tcp-route currently only supports one service`);
    for (const svc of arr(e, "Services")) if (s(svc, "Name") === "") fail("service name must not be empty");
    parentProblems(e);
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
  },
};

const PEM = (label: RegExp) => new RegExp(`-----BEGIN ${label.source}-----[\\s\\S]+?-----END ${label.source}-----`);

export const inlineCertificate: KindDef = {
  kind: "inline-certificate",
  schema: inlineCertificateSchema,
  normalize(e) {
    e.Kind = "inline-certificate";
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    if (!PEM(/CERTIFICATE/).test(s(e, "Certificate"))) fail("failed to parse certificate PEM");
    if (!PEM(/(?:RSA |EC )?PRIVATE KEY/).test(s(e, "PrivateKey"))) fail("failed to parse private key PEM");
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    p.throwIfAny();
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


