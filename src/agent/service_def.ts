/**
 * Service definitions as the agent takes them (config `services` blocks and
 * `PUT /v1/agent/service/register`), with Consul's validation and defaults.
 */
import type { ServiceDef } from "./local_state.ts";
import type { ServiceAddress } from "../structs/catalog.ts";
import { bool, DecodeError, num, obj, type Obj, objList, requireObject, str, strList, strMap } from "../structs/decode.ts";
import { field, isObject } from "../structs/json.ts";

export interface ServiceRegistration {
  readonly service: ServiceDef;
  /** Raw check definitions, decoded by the check layer. */
  readonly checks: Obj[];
  readonly token: string;
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

export function decodeServiceRegistration(body: unknown): ServiceRegistration {
  const o = requireObject(body);
  const name = str(o, "Name", "Service");
  if (name === "") throw new DecodeError("Missing service name");
  const kind = str(o, "Kind");
  if (!KINDS.has(kind)) throw new DecodeError(`Invalid service kind: "${kind}"`);
  const meta = strMap(o, "Meta");
  validateMeta(meta);
  const w = obj(o, "Weights");
  const weights = w ? { Passing: num(w, "Passing"), Warning: num(w, "Warning") } : { Passing: 1, Warning: 1 };
  if (weights.Passing < 1) throw new DecodeError("Passing must be greater than 0");
  if (weights.Warning < 0) throw new DecodeError("Warning must be greater or equal than 0");
  if (weights.Passing > 65535 || weights.Warning > 65535) throw new DecodeError("Passing and Warning must be less than 65536");

  const port = num(o, "Port");
  if (port < 0 || port > 65535 || !Number.isInteger(port)) throw new DecodeError(`Invalid service port: ${port}`);
  const address = str(o, "Address");
  const tagged: Record<string, ServiceAddress> = {};
  for (const [k, a] of Object.entries(obj(o, "TaggedAddresses", "tagged_addresses") ?? {})) {
    if (!isObject(a)) throw new DecodeError(`Request decode failed: TaggedAddresses.${k} must be an object`);
    tagged[k] = { Address: str(a, "Address"), Port: num(a, "Port") };
  }
  // An IP service address also becomes the lan/wan tagged addresses, as Consul does.
  const family = isIp(address);
  if (family) {
    tagged[`lan_ip${family}`] ??= { Address: address, Port: port };
    tagged[`wan_ip${family}`] ??= { Address: address, Port: port };
  }

  const connect = obj(o, "Connect") ?? {};
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
  return {
    service: {
      Kind: kind,
      ID: id,
      Service: name,
      Tags: strList(o, "Tags"),
      Address: address,
      TaggedAddresses: tagged,
      Meta: meta,
      Port: port,
      SocketPath: str(o, "SocketPath", "socket_path"),
      Weights: weights,
      EnableTagOverride: bool(o, "EnableTagOverride", "enable_tag_override"),
      Proxy: obj(o, "Proxy") ?? {},
      Connect: connect,
      Locality: obj(o, "Locality"),
    },
    checks,
    token: str(o, "Token"),
  };
}

/** Consul's IDs and names for the checks of a service registration. */
export function serviceCheckIdentity(serviceId: string, serviceName: string, index: number, count: number): { id: string; name: string } {
  return {
    id: count === 1 ? `service:${serviceId}` : `service:${serviceId}:${index + 1}`,
    name: `Service '${serviceName}' check`,
  };
}
