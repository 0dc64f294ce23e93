/**
 * The API gateway family (config_entry_gateways.go, config_entry_routes.go,
 * config_entry_inline_certificate.go, config_entry_file_system_certificate.go):
 * `api-gateway`, `http-route`, `tcp-route`, `inline-certificate`,
 * `file-system-certificate`. Their `Status` is written by the gateway
 * controller only (see src/server/gateway_controller.ts).
 */
import { meta, resourceReference, status } from "./common.ts";
import { jwtRequirement } from "./jwt.ts";
import { arr, type EntryBody, fail, HTTP_METHODS, type KindDef, n, o, type Obj, Problems, s, smap, metaProblems, strs, TLS_VERSIONS } from "./kind.ts";
import { durationNs, list, ptr, str, strMap, struct, uint, bool, int } from "../schema.ts";

const apiGatewayTls = struct(
  ["Certificates", list(resourceReference)],
  ["MaxVersion", str, "o", ["tls_max_version"]],
  ["MinVersion", str, "o", ["tls_min_version"]],
  ["CipherSuites", list(str), "o", ["cipher_suites"]],
);
const apiGatewayPolicy = struct(["JWT", ptr(jwtRequirement), "o"]);
const apiGatewayListener = struct(
  ["Name", str],
  ["Hostname", str],
  ["Port", int],
  ["Protocol", str],
  ["TLS", apiGatewayTls, "", ["tls"]],
  ["Override", ptr(apiGatewayPolicy), "o"],
  ["Default", ptr(apiGatewayPolicy), "o"],
);
export const apiGatewaySchema = struct(["Kind", str], ["Name", str], ["Listeners", list(apiGatewayListener)], ["Status", status], meta);

const headerFilter = struct(["Add", strMap], ["Remove", list(str)], ["Set", strMap]);
const httpFilters = struct(
  ["Headers", list(headerFilter)],
  ["URLRewrite", ptr(struct(["Path", str])), "", ["url_rewrite"]],
  ["RetryFilter", ptr(struct(["NumRetries", ptr(uint)], ["RetryOn", list(str)], ["RetryOnStatusCodes", list(uint)], ["RetryOnConnectFailure", ptr(bool)]))],
  ["TimeoutFilter", ptr(struct(["RequestTimeout", durationNs], ["IdleTimeout", durationNs]))],
  ["JWT", ptr(jwtRequirement), "o"],
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
export const fileSystemCertificateSchema = struct(["Kind", str], ["Name", str], ["Certificate", str], ["PrivateKey", str], meta);

const metaOnly = (e: EntryBody): void => {
  const p = new Problems();
  p.addAll(metaProblems(smap(e, "Meta")));
  p.throwIfAny();
};

/** Consul's types.TLSVersion values an API gateway listener accepts. */
const LISTENER_TLS_VERSIONS = new Set([...TLS_VERSIONS].filter((v) => v !== "TLS_AUTO"));

function jwtProviderNames(req: Obj | undefined, where: string): void {
  for (const p of arr(req, "Providers")) if (s(p, "Name") === "") fail(`${where}: JWT provider name is required`);
}

export const apiGateway: KindDef = {
  kind: "api-gateway",
  schema: apiGatewaySchema,
  normalize(e) {
    e.Kind = "api-gateway";
    for (const l of arr(e, "Listeners")) {
      l.Protocol = s(l, "Protocol").toLowerCase() || "tcp";
      for (const c of arr(o(l, "TLS"), "Certificates")) if (s(c, "Kind") === "") c.Kind = "inline-certificate";
    }
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    metaOnly(e);
    const names = new Set<string>();
    const bound = new Set<string>();
    for (const l of arr(e, "Listeners")) {
      const name = s(l, "Name");
      if (name === "") fail("listener name is required");
      if (names.has(name)) fail(`found multiple listeners with the name ${name}`);
      names.add(name);
      const protocol = s(l, "Protocol");
      if (protocol !== "http" && protocol !== "tcp") fail(`unsupported listener protocol ${JSON.stringify(protocol)}, must be one of 'tcp', 'http'`);
      const port = n(l, "Port");
      if (port < 1 || port > 65535) fail(`listener port ${port} not in the range 1-65535`);
      const hostname = s(l, "Hostname");
      if (hostname !== "" && !/^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(hostname)) {
        fail(`listener ${name} hostname ${JSON.stringify(hostname)} must be a valid DNS hostname`);
      }
      const key = `${hostname}:${port}`;
      if (bound.has(key)) fail(`found multiple listeners with the same hostname and port ${key}`);
      bound.add(key);
      const tls = o(l, "TLS");
      for (const k of ["MinVersion", "MaxVersion"]) {
        const v = s(tls, k);
        if (v !== "" && !LISTENER_TLS_VERSIONS.has(v)) fail(`unsupported TLS version ${JSON.stringify(v)} on listener ${name}`);
      }
      const order = ["TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"];
      if (s(tls, "MinVersion") && s(tls, "MaxVersion") && order.indexOf(s(tls, "MinVersion")) > order.indexOf(s(tls, "MaxVersion"))) {
        fail(`listener ${name}: TLS MinVersion ${s(tls, "MinVersion")} is greater than MaxVersion ${s(tls, "MaxVersion")}`);
      }
      for (const c of arr(tls, "Certificates")) {
        const kind = s(c, "Kind");
        if (kind !== "inline-certificate" && kind !== "file-system-certificate") fail(`unsupported certificate kind: ${JSON.stringify(kind)}, must be 'inline-certificate' or 'file-system-certificate'`);
        if (s(c, "Name") === "") fail("certificate reference must have a name");
      }
      if (protocol === "tcp" && (o(l, "Override") || o(l, "Default"))) fail(`listener ${name}: JWT policies are only supported on http listeners`);
      jwtProviderNames(o(o(l, "Override"), "JWT"), `listener ${name} Override`);
      jwtProviderNames(o(o(l, "Default"), "JWT"), `listener ${name} Default`);
    }
  },
};

function parentProblems(e: EntryBody): void {
  const seen = new Set<string>();
  for (const parent of arr(e, "Parents")) {
    const kind = s(parent, "Kind");
    if (kind !== "api-gateway") fail(`unsupported parent kind: ${JSON.stringify(kind)}, must be 'api-gateway'`);
    if (s(parent, "Name") === "") fail("parent reference must have a name");
    const key = `${kind}\u0000${s(parent, "Name")}\u0000${s(parent, "SectionName")}`;
    if (seen.has(key)) fail("route parents must be unique");
    seen.add(key);
  }
}

function filterProblems(f: Obj | undefined, where: string): void {
  const retry = o(f, "RetryFilter");
  for (const c of (retry?.RetryOnStatusCodes as number[] | undefined) ?? []) if (c < 100 || c > 599) fail(`${where}HTTPFilters, RetryFilter: status code ${c} is not in 100-599`);
  const timeout = o(f, "TimeoutFilter");
  if (n(timeout, "RequestTimeout") < 0 || n(timeout, "IdleTimeout") < 0) fail(`${where}HTTPFilters, TimeoutFilter: timeouts must not be negative`);
  jwtProviderNames(o(f, "JWT"), `${where}HTTPFilters, JWT`);
}

function matchProblems(m: Obj): void {
  const method = s(m, "Method");
  if (method !== "" && !HTTP_METHODS.has(method)) fail(`Method contains an invalid method ${JSON.stringify(method)}`);
  arr(m, "Query").forEach((q, i) => {
    if (s(q, "Name") === "") fail(`Query[${i}], missing required Name field`);
    if (!["exact", "present", "regex"].includes(s(q, "Match"))) fail(`Query[${i}], match type should be one of present, exact, or regex`);
  });
  arr(m, "Headers").forEach((h, i) => {
    if (s(h, "Name") === "") fail(`Headers[${i}], missing required Name field`);
    if (!["exact", "prefix", "regex", "suffix", "present"].includes(s(h, "Match"))) fail(`Headers[${i}], match type should be one of present, exact, prefix, suffix, or regex`);
  });
  const path = o(m, "Path");
  const match = s(path, "Match");
  if (match === "exact" || match === "prefix") {
    if (!s(path, "Value").startsWith("/")) fail(`Path, ${match} type match doesn't start with '/': ${JSON.stringify(s(path, "Value"))}`);
  } else if (match !== "regex") fail("Path, match type should be one of exact, prefix, or regex");
}

/** Wraps a rule-level problem as Consul's "Rule[i], ..." error. */
function inRule(i: number, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (err instanceof Error && err.name === "EntryValidationError") fail(`Rule[${i}], ${err.message}`);
    throw err;
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
        const path = o(m, "Path") ?? {};
        m.Path = path;
        if (s(path, "Match") === "") {
          path.Match = "prefix";
          path.Value = "/";
        }
      }
      for (const svc of arr(r, "Services")) if (n(svc, "Weight") < 1) svc.Weight = 1;
    }
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    for (const h of strs(e, "Hostnames")) {
      if (!/^[A-Za-z0-9*]([A-Za-z0-9*-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/.test(h)) fail(`host ${JSON.stringify(h)} must be a valid DNS hostname`);
      if (h.includes("*")) fail(`host ${JSON.stringify(h)} must not be a wildcard`);
    }
    parentProblems(e);
    metaOnly(e);
    arr(e, "Rules").forEach((r, i) =>
      inRule(i, () => {
        filterProblems(o(r, "Filters"), "");
        arr(r, "Matches").forEach((m, j) => {
          try {
            matchProblems(m);
          } catch (err) {
            if (err instanceof Error && err.name === "EntryValidationError") fail(`Match[${j}], ${err.message}`);
            throw err;
          }
        });
        arr(r, "Services").forEach((svc, j) => {
          if (s(svc, "Name") === "") fail(`Service[${j}], service name is required`);
          filterProblems(o(svc, "Filters"), `Service[${j}], `);
        });
      }),
    );
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
    if (arr(e, "Services").length > 1) fail("tcp-route currently only supports one service");
    parentProblems(e);
    metaOnly(e);
  },
};

const pemBlock = (label: string) => new RegExp(`-----BEGIN ${label}-----\\s*([A-Za-z0-9+/=\\s]+?)\\s*-----END ${label}-----`);

export const inlineCertificate: KindDef = {
  kind: "inline-certificate",
  schema: inlineCertificateSchema,
  normalize(e) {
    e.Kind = "inline-certificate";
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    metaOnly(e);
    if (!pemBlock("CERTIFICATE").test(s(e, "Certificate"))) fail("failed to parse certificate PEM");
    if (!pemBlock("(?:RSA |EC )?PRIVATE KEY").test(s(e, "PrivateKey"))) fail("failed to parse private key PEM");
  },
};

export const fileSystemCertificate: KindDef = {
  kind: "file-system-certificate",
  schema: fileSystemCertificateSchema,
  normalize(e) {
    e.Kind = "file-system-certificate";
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    metaOnly(e);
  },
};

/** The services a route sends traffic to, by name (http-route rules' and tcp-route's). */
export function routeServices(e: EntryBody): string[] {
  if (e.Kind === "tcp-route") return arr(e, "Services").map((svc) => s(svc, "Name"));
  return arr(e, "Rules").flatMap((r) => arr(r, "Services").map((svc) => s(svc, "Name")));
}
