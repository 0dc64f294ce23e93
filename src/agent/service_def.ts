/**
 * Service definitions as the agent takes them (config `services` blocks and
 * `PUT /v1/agent/service/register`), with Consul's validation and defaults.
 */
import type { ServiceDef } from "./local_state.ts";
import type { ServiceAddress } from "../structs/catalog.ts";
import { bool, DecodeError, int, obj, type Obj, objList, requireObject, str, strList, strMap } from "../structs/decode.ts";
import { field, isObject } from "../structs/json.ts";
import { type ConnectField, ConnectProxyKind, decodeConnect, decodeProxy, multiErrorText, SIDECAR_SUFFIX, validateConnectFields } from "../structs/proxy.ts";
import { InvalidAgentRequestError } from "./errors.ts";

export interface ServiceRegistration {
  readonly service: ServiceDef;
  /** Raw check definitions, decoded by the check layer. */
  readonly checks: Obj[];
  readonly token: string;
  /** `Connect.SidecarService` of the request: a second registration the agent derives (never stored). */
  readonly sidecar: Obj | null;
}

const KINDS = new Set(["", "connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway", "api-gateway"]);
const META_KEY = /^[a-zA-Z0-9_-]+$/;

function isIp(addr: string): "v4" | "v6" | null {
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return "v4";
  if (addr.includes(":") && /^[0-9a-fA-F:.]+$/.test(addr)) return "v6";
  return null;
}

function validateMeta(meta: Record<string, string>): void {
  const keys = Object.keys(meta);
  if (keys.length > 64) throw new DecodeError(`Invalid Service Meta: Node metadata cannot contain more than 64 key/value pairs`);
  for (const k of keys) {
    if (!META_KEY.test(k)) throw new DecodeError(`Invalid Service Meta: Key contains invalid characters: ${JSON.stringify(k)}`);
    if (k.length > 128) throw new DecodeError(`Invalid Service Meta: Key is too long (limit: 128 characters)`);
    if (k.startsWith("consul-") && k !== "consul-wan-federation") throw new DecodeError(`Invalid Service Meta: Key prefix 'consul-' is reserved for internal use`);
    if (meta[k]!.length > 512) throw new DecodeError(`Invalid Service Meta: Value is too long (limit: 512 characters)`);
  }
}

/**
 * Decodes and validates a registration. With `sidecarOf`, the body is the
 * `sidecar_service` block of that parent, and Consul's sidecar defaults fill
 * what it leaves out (sidecarServiceFromNodeService).
 */
export function decodeServiceRegistration(body: unknown, sidecarOf?: ServiceDef): ServiceRegistration {
  let o = requireObject(body);
  if (sidecarOf) {
    const given = str(o, "Kind");
    o = { ...o, ID: sidecarOf.ID + SIDECAR_SUFFIX, Name: str(o, "Name", "Service") || sidecarOf.Service + SIDECAR_SUFFIX, Kind: given || ConnectProxyKind };
  }
  const name = str(o, "Name", "Service");
  if (name === "") throw new DecodeError("Missing service name");
  const kind = str(o, "Kind");
  if (!KINDS.has(kind)) throw new DecodeError(`Invalid service kind: "${kind}"`);
  const meta = strMap(o, "Meta");
  validateMeta(meta);
  const w = obj(o, "Weights");
  const weights = w ? { Passing: int(w, "Passing"), Warning: int(w, "Warning") } : { Passing: 1, Warning: 1 };
  if (weights.Passing < 1) throw new DecodeError("Passing must be greater than 0");
  if (weights.Warning < 0) throw new DecodeError("Warning must be greater or equal than 0");
  if (weights.Passing > 65535 || weights.Warning > 65535) throw new DecodeError("Passing and Warning must be less than 65536");

  const port = int(o, "Port");
  if (port < 0 || port > 65535 || !Number.isInteger(port)) throw new DecodeError(`Invalid service port: ${port}`);
  const address = str(o, "Address");
  const tagged: Record<string, ServiceAddress> = {};
  for (const [k, a] of Object.entries(obj(o, "TaggedAddresses", "tagged_addresses") ?? {})) {
    if (!isObject(a)) throw new DecodeError(`Request decode failed: TaggedAddresses.${k} must be an object`);
    tagged[k] = { Address: str(a, "Address"), Port: int(a, "Port") };
  }
  // An IP service address also becomes the lan/wan tagged addresses, as Consul does.
  const family = isIp(address);
  if (family) {
    tagged[`lan_ip${family}`] ??= { Address: address, Port: port };
    tagged[`wan_ip${family}`] ??= { Address: address, Port: port };
  }

  const connect: ConnectField = decodeConnect(obj(o, "Connect"));
  const rawProxy = obj(o, "Proxy");
  let proxy: Record<string, unknown> = decodeProxy(kind === ConnectProxyKind && sidecarOf ? (rawProxy ?? { DestinationServiceName: "" }) : rawProxy);
  const checks = objList(o, "Checks");
  const single = obj(o, "Check");
  if (single) checks.unshift(single);
  const id = str(o, "ID") || name;
  const seen = new Set<string>();
  checks.forEach((c, i) => {
    const given = field(c, "CheckID", "ID", "check_id");
    const checkId = typeof given === "string" && given !== "" ? given : checks.length === 1 ? `service:${id}` : `service:${id}:${i + 1}`;
    if (seen.has(checkId)) throw new DecodeError(`Duplicate check ID "${checkId}" in service "${id}"`);
    seen.add(checkId);
  });
  let tags = strList(o, "Tags");
  let svcAddress = address;
  let svcMeta = meta;
  const socketPath = str(o, "SocketPath", "socket_path");
  if (sidecarOf) {
    // Consul's sidecar defaults: the parent's tags, meta and address unless given, and a proxy aimed at the parent.
    if (tags.length === 0) tags = [...sidecarOf.Tags];
    if (Object.keys(svcMeta).length === 0) svcMeta = { ...sidecarOf.Meta };
    if (svcAddress === "") svcAddress = sidecarOf.Address;
    if (kind === ConnectProxyKind) proxy = sidecarProxyDefaults(proxy, sidecarOf);
  }
  const { SidecarService: sidecar, ...storedConnect } = connect;
  const errs = validateConnectFields({ Kind: kind, Port: port, SocketPath: socketPath, Proxy: proxy, Connect: connect });
  // An agent allocates a sidecar's port itself; any other proxy must name one.
  if (!sidecarOf && kind === ConnectProxyKind && port === 0 && socketPath === "") errs.unshift(`Port or SocketPath must be set for a ${kind}`);
  if (errs.length > 0) throw new InvalidAgentRequestError(sidecarOf ? `Invalid SidecarService: ${multiErrorText(errs)}` : multiErrorText(errs));
  return {
    service: {
      Kind: kind,
      ID: id,
      Service: name,
      Tags: tags,
      Address: svcAddress,
      TaggedAddresses: tagged,
      Meta: svcMeta,
      Port: port,
      SocketPath: socketPath,
      Weights: weights,
      EnableTagOverride: bool(o, "EnableTagOverride", "enable_tag_override"),
      Proxy: proxy,
      Connect: storedConnect,
      Locality: obj(o, "Locality"),
    },
    checks,
    token: str(o, "Token"),
    sidecar: sidecar ?? null,
  };
}

function sidecarProxyDefaults(proxy: Record<string, unknown>, parent: ServiceDef): Record<string, unknown> {
  const p = { ...proxy };
  if (p.DestinationServiceName === "" || p.DestinationServiceName === undefined) p.DestinationServiceName = parent.Service;
  if (p.DestinationServiceID === "" || p.DestinationServiceID === undefined) p.DestinationServiceID = parent.ID;
  const port = typeof p.LocalServicePort === "number" ? p.LocalServicePort : 0;
  if (!p.LocalServiceSocketPath && (p.LocalServiceAddress === "" || port < 1)) {
    if (parent.SocketPath !== "") p.LocalServiceSocketPath = parent.SocketPath;
    else {
      if (p.LocalServiceAddress === "" || p.LocalServiceAddress === undefined) p.LocalServiceAddress = "127.0.0.1";
      if (port < 1) p.LocalServicePort = parent.Port;
    }
  }
  return p;
}

/** Consul's sidecarDefaultChecks: the proxy's port answers, and it is as healthy as the service it fronts. */
export function sidecarDefaultChecks(sidecar: ServiceDef, parentId: string): Obj[] {
  const proxy = sidecar.Proxy as { LocalServiceAddress?: string };
  const host = sidecar.Address !== "" ? sidecar.Address : (proxy.LocalServiceAddress ?? "");
  const hostPort = host.includes(":") ? `[${host}]:${sidecar.Port}` : `${host}:${sidecar.Port}`;
  return [
    { Name: "Connect Sidecar Listening", TCP: hostPort, Interval: "10s" },
    { Name: `Connect Sidecar Aliasing ${parentId}`, AliasService: parentId },
  ];
}

/** Consul's IDs and names for the checks of a service registration. */
export function serviceCheckIdentity(serviceId: string, serviceName: string, index: number, count: number): { id: string; name: string } {
  return {
    id: count === 1 ? `service:${serviceId}` : `service:${serviceId}:${index + 1}`,
    name: `Service '${serviceName}' check`,
  };
}

/**
 * Consul's sidecarPortFromServiceIDLocked: a sidecar keeps the port it has
 * when re-registered, else takes the lowest free one of the sidecar range.
 */
export function sidecarPort(services: readonly ServiceDef[], sidecarId: string, range: { readonly min: number; readonly max: number }): number {
  const { min, max } = range;
  if (min < 1 || max < 1) throw new InvalidAgentRequestError("no port provided for sidecar_service and auto-assignment disabled in config");
  const used = new Set<number>();
  for (const s of services) {
    if (s.Port < min || s.Port > max) continue;
    if (s.ID === sidecarId) return s.Port;
    used.add(s.Port);
  }
  for (let p = min; p <= max; p++) if (!used.has(p)) return p;
  throw new InvalidAgentRequestError(`no port provided for sidecar_service and none left in the configured range [${min}, ${max}]`);
}
