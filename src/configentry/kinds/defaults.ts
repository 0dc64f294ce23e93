/** `service-defaults` and `proxy-defaults` (agent/structs/config_entry.go). */
import {
  accessLogs,
  envoyExtension,
  expose,
  failoverPolicy,
  meshGateway,
  meta,
  prioritizeByLocality,
  transparentProxy,
  upstreamConfig,
} from "./common.ts";
import { arr, type EntryBody, fail, type KindDef, metaProblems, multiText, n, o, type Obj, Problems, PROTOCOLS, s, smap, strs, WILDCARD } from "./kind.ts";
import { any, int, list, ptr, str, struct } from "../schema.ts";

const routeRateLimit = struct(["PathExact", str], ["PathPrefix", str], ["PathRegex", str], ["RequestsPerSecond", int], ["RequestsMaxBurst", int]);
const rateLimits = struct(["InstanceLevel", struct(["RequestsPerSecond", int], ["RequestsMaxBurst", int], ["Routes", list(routeRateLimit)])]);
const destination = struct(["Addresses", list(str), "o"], ["Port", int, "o"]);

export const serviceDefaultsSchema = struct(
  ["Kind", str],
  ["Name", str],
  ["Protocol", str],
  ["Mode", str, "o"],
  ["TransparentProxy", transparentProxy, "o"],
  ["MutualTLSMode", str, "o", ["mutual_tls_mode"]],
  ["MeshGateway", meshGateway, "o"],
  ["Expose", expose, "o"],
  ["ExternalSNI", str, "o", ["external_sni"]],
  ["UpstreamConfig", ptr(struct(["Overrides", list(upstreamConfig), "o"], ["Defaults", ptr(upstreamConfig), "o"])), "o"],
  ["Destination", ptr(destination), "o"],
  ["MaxInboundConnections", int, "o"],
  ["LocalConnectTimeoutMs", int, "o"],
  ["LocalRequestTimeoutMs", int, "o"],
  ["BalanceInboundConnections", str, "o"],
  ["RateLimits", ptr(rateLimits), "o"],
  ["EnvoyExtensions", list(envoyExtension), "o"],
  meta,
);

export const proxyDefaultsSchema = struct(
  ["Kind", str],
  ["Name", str],
  ["Config", any],
  ["Mode", str, "o"],
  ["TransparentProxy", transparentProxy, "o"],
  ["MutualTLSMode", str, "o", ["mutual_tls_mode"]],
  ["MeshGateway", meshGateway, "o"],
  ["Expose", expose, "o"],
  ["AccessLogs", accessLogs, "o"],
  ["EnvoyExtensions", list(envoyExtension), "o"],
  ["FailoverPolicy", ptr(failoverPolicy), "o"],
  ["PrioritizeByLocality", ptr(prioritizeByLocality), "o"],
  meta,
);

const PROXY_MODES = new Set(["", "transparent", "direct"]);
const MTLS_MODES = new Set(["", "strict", "permissive"]);
const MESH_GATEWAY_MODES = new Set(["", "none", "local", "remote"]);

/** Checks shared by both kinds: Mode, MutualTLSMode, MeshGateway.Mode. */
function commonProxyProblems(e: EntryBody, p: Problems): void {
  const mode = s(e, "Mode");
  if (!PROXY_MODES.has(mode)) p.add(`invalid value for Mode: ${JSON.stringify(mode)}`);
  const mtls = s(e, "MutualTLSMode");
  if (!MTLS_MODES.has(mtls)) p.add(`Invalid MutualTLSMode ${JSON.stringify(mtls)}. Must be one of "strict" or "permissive".`);
  const mgw = s(o(e, "MeshGateway"), "Mode");
  if (!MESH_GATEWAY_MODES.has(mgw)) p.add(`Invalid Mesh Gateway Mode: ${JSON.stringify(mgw)}`);
}

/** Consul's UpstreamConfig validation: a plain error for a Name problem, else a multierror (PassiveHealthCheck, Limits, balance), or null. */
function upstreamProblem(cfg: Obj, named: boolean): string | null {
  if (named) {
    if (s(cfg, "Name") === "") return "Name is required";
    if (s(cfg, "Name") === WILDCARD) return "Wildcard name is not supported";
  } else if (s(cfg, "Name") !== "") {
    return "Name must be empty";
  }
  const out: string[] = [];
  // PassiveHealthCheck.Validate and UpstreamLimits.Validate each report their first problem.
  const phc = o(cfg, "PassiveHealthCheck");
  const over100 = (k: string) => typeof phc?.[k] === "number" && (phc[k] as number) > 100;
  const phcProblem = !phc
    ? null
    : n(phc, "Interval") < 0
      ? "passive health check interval cannot be negative"
      : over100("EnforcingConsecutive5xx")
        ? "passive health check enforcing_consecutive_5xx must be a percentage between 0 and 100"
        : over100("MaxEjectionPercent")
          ? "passive health check max_ejection_percent must be a percentage between 0 and 100"
          : n(phc, "BaseEjectionTime") < 0
            ? "passive health check base_ejection_time cannot be negative"
            : null;
  if (phcProblem) out.push(phcProblem);
  const limits = o(cfg, "Limits");
  const limitProblem = (
    [
      ["MaxConnections", "max connections"],
      ["MaxPendingRequests", "max pending requests"],
      ["MaxConcurrentRequests", "max concurrent requests"],
    ] as const
  ).find(([k]) => n(limits, k) < 0);
  if (limitProblem) out.push(`${limitProblem[1]} cannot be negative`);
  const bal = s(cfg, "BalanceOutboundConnections");
  if (bal !== "" && bal !== "exact_balance") out.push(`invalid value for balance_outbound_connections: ${bal}`);
  return out.length === 0 ? null : multiText(out);
}

const HOSTNAME = /^(?=.{1,253}\.?$)([A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)(\.[A-Za-z0-9_]([A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;

function isIp(a: string): boolean {
  return IPV4.test(a) || (a.includes(":") && /^[0-9a-fA-F:.]+$/.test(a));
}

export const serviceDefaults: KindDef = {
  kind: "service-defaults",
  schema: serviceDefaultsSchema,
  normalize(e) {
    e.Kind = "service-defaults";
    e.Protocol = s(e, "Protocol").toLowerCase();
    const uc = o(e, "UpstreamConfig");
    for (const cfg of [...arr(uc, "Overrides"), ...(o(uc, "Defaults") ? [o(uc, "Defaults")!] : [])]) {
      if (typeof cfg.Protocol === "string") cfg.Protocol = cfg.Protocol.toLowerCase();
      if (n(cfg, "ConnectTimeoutMs") < 0) cfg.ConnectTimeoutMs = 0;
    }
  },
  validate(e) {
    if (e.Name === "") fail("Name is required");
    if (e.Name === WILDCARD) fail("service-defaults name must be the name of a service, and not a wildcard");
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    const protocol = s(e, "Protocol");
    if (protocol !== "" && !PROTOCOLS.has(protocol)) p.add(`invalid value for protocol: ${protocol}`);
    commonProxyProblems(e, p);
    const bal = s(e, "BalanceInboundConnections");
    if (bal !== "" && bal !== "exact_balance") p.add(`invalid value for balance_inbound_connections: ${bal}`);
    const uc = o(e, "UpstreamConfig");
    const dest = o(e, "Destination");
    if (uc && dest) {
      p.add("UpstreamConfig and Destination are mutually exclusive for service defaults");
      p.throwIfAny();
    }
    for (const ov of arr(uc, "Overrides")) {
      const err = upstreamProblem(ov, true);
      const name = s(ov, "Peer") ? `${s(ov, "Peer")}/${s(ov, "Name")}` : s(ov, "Name");
      if (err) p.add(`error in upstream override for ${name}: ${err}`);
    }
    const def = o(uc, "Defaults");
    const defErr = def ? upstreamProblem(def, false) : null;
    if (defErr) p.add(`error in upstream defaults: ${defErr}`);
    if (dest) {
      const addrs = strs(dest, "Addresses");
      if (addrs.length === 0) p.add("Destination must contain at least one valid address");
      const seen = new Set<string>();
      for (const a of addrs) {
        if (seen.has(a)) {
          p.add(`Duplicate address '${a}' is not allowed`);
          continue;
        }
        seen.add(a);
        if (!isIp(a) && (a.includes("*") || !HOSTNAME.test(a))) {
          p.add(`Destination address '${a}' is invalid Could not validate address ${a} as an IP or Hostname`);
        }
      }
      const port = n(dest, "Port");
      if (port < 1 || port > 65535) p.add(`Invalid Port number ${port}`);
    }
    p.throwIfAny();
  },
};

export const PROXY_CONFIG_GLOBAL = "global";

const LOG_SINKS = new Set(["", "file", "stderr", "stdout"]);

export const proxyDefaults: KindDef = {
  kind: "proxy-defaults",
  schema: proxyDefaultsSchema,
  normalize(e) {
    e.Kind = "proxy-defaults";
    if (e.Name !== "" && e.Name !== PROXY_CONFIG_GLOBAL) {
      fail(`invalid name (${JSON.stringify(e.Name)}), only ${JSON.stringify(PROXY_CONFIG_GLOBAL)} is supported`);
    }
    e.Name = PROXY_CONFIG_GLOBAL;
  },
  validate(e) {
    if (e.Name !== PROXY_CONFIG_GLOBAL) fail(`invalid name (${JSON.stringify(e.Name)}), only ${JSON.stringify(PROXY_CONFIG_GLOBAL)} is supported`);
    const p = new Problems();
    p.addAll(metaProblems(smap(e, "Meta")));
    commonProxyProblems(e, p);
    const logs = o(e, "AccessLogs");
    if (logs) {
      const type = s(logs, "Type");
      if (!LOG_SINKS.has(type)) p.add(`invalid access log type: ${type}`);
      if (s(logs, "JSONFormat") !== "" && s(logs, "TextFormat") !== "") p.add("cannot specify both access log JSONFormat and TextFormat");
      if (type === "file" && s(logs, "Path") === "") p.add("path must be specified when using file type access logs");
      if (type !== "file" && type !== "" && s(logs, "Path") !== "") p.add("path is only valid for file type access logs");
    }
    const config = e.Config;
    if (config !== undefined && config !== null && (typeof config !== "object" || Array.isArray(config))) {
      p.add("Config must be a map");
    }
    p.throwIfAny();
  },
};

/** The protocol a proxy-defaults entry sets in its opaque Config (`protocol`), lower-cased. */
export function proxyDefaultsProtocol(e: EntryBody | undefined): string {
  const cfg = e ? o(e, "Config") : undefined;
  if (!cfg) return "";
  for (const [k, v] of Object.entries(cfg)) if (k.toLowerCase() === "protocol" && typeof v === "string") return v.toLowerCase();
  return "";
}
