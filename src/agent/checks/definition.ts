/**
 * A health check definition (Consul's structs.CheckDefinition, which carries
 * every CheckType field). Durations are milliseconds here; on the wire they
 * are Go duration strings or nanosecond numbers.
 */
import { formatGoDuration } from "../../structs/duration.ts";

export interface CheckDefinition {
  ID: string;
  Name: string;
  Notes: string;
  ServiceID: string;
  Token: string;
  /** Initial status; "" means Consul's default, critical. */
  Status: string;

  ScriptArgs: string[];
  HTTP: string;
  H2PING: string;
  H2PingUseTLS: boolean;
  Header: Record<string, string[]>;
  Method: string;
  Body: string;
  DisableRedirects: boolean;
  TCP: string;
  TCPUseTLS: boolean;
  UDP: string;
  /** Milliseconds. */
  Interval: number;
  DockerContainerID: string;
  Shell: string;
  GRPC: string;
  GRPCUseTLS: boolean;
  OSService: string;
  TLSServerName: string;
  TLSSkipVerify: boolean;
  AliasNode: string;
  AliasService: string;
  /** Milliseconds; 0 means the type's default. */
  Timeout: number;
  /** Milliseconds. */
  TTL: number;
  SuccessBeforePassing: number;
  FailuresBeforeWarning: number;
  FailuresBeforeCritical: number;
  /** Milliseconds; the agent reaps the service once a check is critical this long. */
  DeregisterCriticalServiceAfter: number;
  OutputMaxSize: number;
}

/** A definition with every field at its zero value. */
export function emptyCheckDefinition(): CheckDefinition {
  return {
    ID: "",
    Name: "",
    Notes: "",
    ServiceID: "",
    Token: "",
    Status: "",
    ScriptArgs: [],
    HTTP: "",
    H2PING: "",
    H2PingUseTLS: false,
    Header: {},
    Method: "",
    Body: "",
    DisableRedirects: false,
    TCP: "",
    TCPUseTLS: false,
    UDP: "",
    Interval: 0,
    DockerContainerID: "",
    Shell: "",
    GRPC: "",
    GRPCUseTLS: false,
    OSService: "",
    TLSServerName: "",
    TLSSkipVerify: false,
    AliasNode: "",
    AliasService: "",
    Timeout: 0,
    TTL: 0,
    SuccessBeforePassing: 0,
    FailuresBeforeWarning: 0,
    FailuresBeforeCritical: 0,
    DeregisterCriticalServiceAfter: 0,
    OutputMaxSize: 0,
  };
}

/**
 * True when every field is at its zero value. Consul drops such checks from
 * service definitions (an absent `Check` block decodes to one) instead of
 * rejecting them.
 */
export function isEmptyCheckDefinition(def: CheckDefinition): boolean {
  const zero = emptyCheckDefinition();
  for (const key of Object.keys(zero) as (keyof CheckDefinition)[]) {
    const v = def[key];
    if (Array.isArray(v)) {
      if (v.length > 0) return false;
    } else if (typeof v === "object") {
      if (Object.keys(v).length > 0) return false;
    } else if (v !== zero[key]) {
      return false;
    }
  }
  return true;
}

const DURATION_FIELDS = ["Interval", "Timeout", "TTL", "DeregisterCriticalServiceAfter"] as const;

/**
 * The definition as JSON that `decodeCheckDefinition` reads back unchanged
 * (durations as Go strings), for persisting checks in the data dir.
 */
export function encodeCheckDefinition(def: CheckDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = { ...def, ScriptArgs: [...def.ScriptArgs], Header: cloneHeader(def.Header) };
  for (const f of DURATION_FIELDS) out[f] = formatGoDuration(def[f]);
  return out;
}

/**
 * Consul's structs.HealthCheckDefinition JSON, the `Definition` block of a
 * catalog HealthCheck: zero values are omitted, durations are Go strings.
 */
export function healthCheckDefinition(def: CheckDefinition): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: string | boolean | number) => {
    if (v !== "" && v !== false && v !== 0) out[k] = v;
  };
  put("HTTP", def.HTTP);
  put("TLSServerName", def.TLSServerName);
  put("TLSSkipVerify", def.TLSSkipVerify);
  if (Object.keys(def.Header).length > 0) out.Header = cloneHeader(def.Header);
  put("Method", def.Method);
  put("Body", def.Body);
  put("DisableRedirects", def.DisableRedirects);
  put("TCP", def.TCP);
  put("TCPUseTLS", def.TCPUseTLS);
  put("UDP", def.UDP);
  put("H2PING", def.H2PING);
  put("OSService", def.OSService);
  put("H2PingUseTLS", def.H2PingUseTLS);
  if (def.Interval !== 0) out.Interval = formatGoDuration(def.Interval);
  put("OutputMaxSize", def.OutputMaxSize);
  if (def.Timeout !== 0) out.Timeout = formatGoDuration(def.Timeout);
  if (def.DeregisterCriticalServiceAfter !== 0) {
    out.DeregisterCriticalServiceAfter = formatGoDuration(def.DeregisterCriticalServiceAfter);
  }
  if (def.ScriptArgs.length > 0) out.ScriptArgs = [...def.ScriptArgs];
  put("DockerContainerID", def.DockerContainerID);
  put("Shell", def.Shell);
  put("GRPC", def.GRPC);
  put("GRPCUseTLS", def.GRPCUseTLS);
  put("AliasNode", def.AliasNode);
  put("AliasService", def.AliasService);
  if (def.TTL !== 0) out.TTL = formatGoDuration(def.TTL);
  return out;
}

function cloneHeader(h: Record<string, string[]>): Record<string, string[]> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, [...v]]));
}
