/**
 * Connect fields of a service: `Proxy` (Consul's ConnectProxyConfig with its
 * upstreams) and `Connect` (Native, SidecarService), decoded from either
 * CamelCase API bodies or snake_case config files into the CamelCase shape
 * the API returns, and validated as Consul's NodeService.ValidateForAgent does.
 */
import { bool, DecodeError, int, obj, type Obj, objList, str } from "./decode.ts";
import { field, isObject } from "./json.ts";

export const SIDECAR_SUFFIX = "-sidecar-proxy";
export const ConnectProxyKind = "connect-proxy";

export interface Upstream {
  DestinationType: string;
  DestinationNamespace?: string;
  DestinationPartition?: string;
  DestinationPeer?: string;
  DestinationName: string;
  Datacenter?: string;
  LocalBindAddress?: string;
  LocalBindPort?: number;
  LocalBindSocketPath?: string;
  Config?: Record<string, unknown>;
  MeshGateway: Record<string, unknown>;
}

export interface ConnectProxyConfig {
  DestinationServiceName: string;
  DestinationServiceID: string;
  LocalServiceAddress: string;
  LocalServicePort: number;
  LocalServiceSocketPath?: string;
  Mode: string;
  Config?: Record<string, unknown>;
  Upstreams?: Upstream[];
  MeshGateway: Record<string, unknown>;
  Expose: Record<string, unknown>;
  TransparentProxy?: Record<string, unknown>;
}

const UPSTREAM_TYPES = new Set(["service", "prepared_query"]);

function optObj(o: Obj, name: string, ...aliases: string[]): Record<string, unknown> {
  return obj(o, name, ...aliases) ?? {};
}

export function decodeUpstream(u: Obj): Upstream {
  const out: Upstream = {
    DestinationType: str(u, "DestinationType", "destination_type") || "service",
    DestinationName: str(u, "DestinationName", "destination_name"),
    MeshGateway: optObj(u, "MeshGateway", "mesh_gateway"),
  };
  const ns = str(u, "DestinationNamespace", "destination_namespace");
  if (ns !== "") out.DestinationNamespace = ns;
  const part = str(u, "DestinationPartition", "destination_partition");
  if (part !== "") out.DestinationPartition = part;
  const peer = str(u, "DestinationPeer", "destination_peer");
  if (peer !== "") out.DestinationPeer = peer;
  const dc = str(u, "Datacenter");
  if (dc !== "") out.Datacenter = dc;
  const bindAddr = str(u, "LocalBindAddress", "local_bind_address");
  if (bindAddr !== "") out.LocalBindAddress = bindAddr;
  const bindPort = int(u, "LocalBindPort", "local_bind_port");
  if (bindPort !== 0) out.LocalBindPort = bindPort;
  const sock = str(u, "LocalBindSocketPath", "local_bind_socket_path");
  if (sock !== "") out.LocalBindSocketPath = sock;
  const config = obj(u, "Config");
  if (config && Object.keys(config).length > 0) out.Config = config;
  return out;
}

/** `Proxy` of a registration; empty input gives `{}` (non-proxy services carry no proxy config). */
export function decodeProxy(raw: Obj | null): Record<string, unknown> {
  if (!raw || Object.keys(raw).length === 0) return {};
  const out: ConnectProxyConfig = {
    DestinationServiceName: str(raw, "DestinationServiceName", "destination_service_name"),
    DestinationServiceID: str(raw, "DestinationServiceID", "destination_service_id"),
    LocalServiceAddress: str(raw, "LocalServiceAddress", "local_service_address"),
    LocalServicePort: int(raw, "LocalServicePort", "local_service_port"),
    Mode: str(raw, "Mode"),
    MeshGateway: optObj(raw, "MeshGateway", "mesh_gateway"),
    Expose: optObj(raw, "Expose"),
  };
  const sock = str(raw, "LocalServiceSocketPath", "local_service_socket_path");
  if (sock !== "") out.LocalServiceSocketPath = sock;
  const config = obj(raw, "Config");
  if (config && Object.keys(config).length > 0) out.Config = config;
  const upstreams = objList(raw, "Upstreams");
  if (upstreams.length > 0) out.Upstreams = upstreams.map(decodeUpstream);
  const tp = obj(raw, "TransparentProxy", "transparent_proxy");
  if (tp && Object.keys(tp).length > 0) out.TransparentProxy = tp;
  return out as unknown as Record<string, unknown>;
}

export interface ConnectField {
  Native?: boolean;
  /** The nested registration; only ever present on a request, never stored. */
  SidecarService?: Obj;
}

export function decodeConnect(raw: Obj | null): ConnectField {
  if (!raw) return {};
  const out: ConnectField = {};
  if (bool(raw, "Native")) out.Native = true;
  const sidecar = field(raw, "SidecarService", "sidecar_service");
  if (sidecar !== undefined && sidecar !== null) {
    if (!isObject(sidecar)) throw new DecodeError("Request decode failed: Connect.SidecarService must be an object");
    out.SidecarService = sidecar;
  }
  return out;
}

/** The proxy config of a service when it is a connect proxy, else null. */
export function proxyConfigOf(svc: { Kind: string; Proxy: Record<string, unknown> }): ConnectProxyConfig | null {
  if (svc.Kind !== ConnectProxyKind) return null;
  return svc.Proxy as unknown as ConnectProxyConfig;
}

/**
 * Consul's NodeService.ValidateForAgent for the connect fields; the messages
 * are Consul's. Returns every problem found (empty when valid).
 */
export function validateConnectFields(s: {
  Kind: string;
  Port: number;
  SocketPath: string;
  Proxy: Record<string, unknown>;
  Connect: ConnectField;
}): string[] {
  const errs: string[] = [];
  if (s.Kind === ConnectProxyKind) {
    const p = s.Proxy as Partial<ConnectProxyConfig>;
    const dest = p.DestinationServiceName ?? "";
    if (dest.trim() === "") errs.push("Proxy.DestinationServiceName must be non-empty for Connect proxy services");
    if (dest === "*") errs.push("Proxy.DestinationServiceName must not be a wildcard for Connect proxy services");
    if (s.Connect.Native) errs.push("A Proxy cannot also be Connect Native, only typical services");
    const keys = new Set<string>();
    const binds = new Set<string>();
    for (const u of p.Upstreams ?? []) {
      if (!UPSTREAM_TYPES.has(u.DestinationType)) {
        errs.push(`unknown upstream destination type: ${JSON.stringify(u.DestinationType)}`);
        continue;
      }
      if (u.DestinationName === "") {
        errs.push("upstream destination name cannot be empty");
        continue;
      }
      if (u.DestinationName === "*") {
        errs.push("upstream destination name cannot be a wildcard");
        continue;
      }
      if ((u.LocalBindPort ?? 0) === 0 && !u.LocalBindSocketPath) {
        errs.push("upstream local bind port or local socket path must be defined and nonzero");
        continue;
      }
      const key = `${u.DestinationType}:${u.DestinationNamespace ?? "default"}/${u.DestinationName}?dc=${u.Datacenter ?? ""}`;
      if (keys.has(key)) {
        errs.push(`upstreams cannot contain duplicates of ${key}`);
        continue;
      }
      keys.add(key);
      const addr = u.LocalBindSocketPath ?? `${u.LocalBindAddress ?? "127.0.0.1"}:${u.LocalBindPort ?? 0}`;
      if (binds.has(addr)) {
        errs.push(`upstreams cannot contain duplicates by local bind address and port or unix path; ${JSON.stringify(addr)} is specified twice`);
        continue;
      }
      binds.add(addr);
    }
  }
  const sidecar = s.Connect.SidecarService;
  if (sidecar) {
    if (str(sidecar, "ID") !== "") errs.push("A SidecarService cannot specify an ID as this is managed by the agent");
    const nested = obj(sidecar, "Connect");
    if (nested && field(nested, "SidecarService", "sidecar_service") !== undefined) errs.push("A SidecarService cannot have a nested SidecarService");
  }
  if (s.Connect.Native && s.Port === 0 && s.SocketPath === "") errs.push("Port or SocketPath must be set for a Connect native service.");
  return errs;
}

/** Go's hashicorp/go-multierror text, which Consul answers with. */
export function multiErrorText(errs: readonly string[]): string {
  const noun = errs.length === 1 ? "error" : "errors";
  return `${errs.length} ${noun} occurred:\n${errs.map((e) => `\t* ${e}`).join("\n")}\n\n`;
}
