/**
 * Decoding of catalog registration bodies: case-insensitive, snake_case
 * aliases accepted, wrong types rejected with a 400 before anything is written.
 */
import { HttpError } from "./errors.ts";
import type { DeregisterRequest, HealthCheck, NodeService, RegisterRequest, ServiceAddress } from "../structs/catalog.ts";
import { field, isObject } from "../structs/json.ts";
import { decodeConnect, decodeProxy } from "../structs/proxy.ts";

/** `Connect` as stored: a sidecar_service block is agent registration sugar, never kept. */
function storedConnect(raw: Record<string, unknown> | null): Record<string, unknown> {
  const { SidecarService: _sidecar, ...rest } = decodeConnect(raw);
  return rest;
}

export { str, num, bool, strList, strMap, obj } from "../structs/decode.ts";
import { bool, DecodeError, int, obj, type Obj, str, strList, strMap } from "../structs/decode.ts";

function serviceAddresses(o: Obj): Record<string, ServiceAddress> {
  const v = obj(o, "TaggedAddresses", "tagged_addresses");
  const out: Record<string, ServiceAddress> = {};
  for (const [k, a] of Object.entries(v ?? {})) {
    if (!isObject(a)) throw new DecodeError(`Request decode failed: TaggedAddresses.${k} must be an object`);
    out[k] = { Address: str(a as Obj, "Address"), Port: int(a as Obj, "Port") };
  }
  return out;
}

export function decodeService(o: Obj): Omit<NodeService, "CreateIndex" | "ModifyIndex"> {
  const name = str(o, "Service", "Name");
  const weights = obj(o, "Weights");
  return {
    Kind: str(o, "Kind"),
    ID: str(o, "ID") || name,
    Service: name,
    Tags: strList(o, "Tags"),
    Address: str(o, "Address"),
    TaggedAddresses: serviceAddresses(o),
    Meta: strMap(o, "Meta"),
    Port: int(o, "Port"),
    SocketPath: str(o, "SocketPath", "socket_path"),
    Weights: weights ? { Passing: int(weights, "Passing"), Warning: int(weights, "Warning") } : { Passing: 1, Warning: 1 },
    EnableTagOverride: bool(o, "EnableTagOverride", "enable_tag_override"),
    Proxy: decodeProxy(obj(o, "Proxy")),
    Connect: storedConnect(obj(o, "Connect")),
    Locality: obj(o, "Locality"),
  };
}

const DEFINITION_FIELDS = ["HTTP", "TCP", "UDP", "GRPC", "TTL", "Method", "Header", "Body", "TLSServerName", "TLSSkipVerify", "ScriptArgs", "AliasNode", "AliasService", "DeregisterCriticalServiceAfter", "Interval", "Timeout"];

export function decodeCheck(o: Obj, node: string): Omit<HealthCheck, "CreateIndex" | "ModifyIndex"> {
  const name = str(o, "Name");
  const definition = obj(o, "Definition") ?? {};
  for (const f of DEFINITION_FIELDS) {
    const v = field(o, f);
    if (v !== undefined && !(f in definition)) definition[f] = v;
  }
  const status = str(o, "Status");
  if (status !== "" && !["passing", "warning", "critical", "maintenance"].includes(status)) {
    throw new HttpError(400, `Invalid check status: "${status}"`);
  }
  return {
    Node: str(o, "Node") || node,
    CheckID: str(o, "CheckID", "ID", "check_id") || name,
    Name: name,
    Status: status,
    Notes: str(o, "Notes"),
    Output: str(o, "Output"),
    ServiceID: str(o, "ServiceID", "service_id"),
    ServiceName: str(o, "ServiceName", "service_name"),
    ServiceTags: strList(o, "ServiceTags", "service_tags"),
    Type: str(o, "Type"),
    Interval: typeof definition.Interval === "string" ? definition.Interval : "",
    Timeout: typeof definition.Timeout === "string" ? definition.Timeout : "",
    ExposedPort: int(o, "ExposedPort"),
    Definition: definition,
  };
}

/**
 * Consul validates a registration in its RPC layer, after the body decoded,
 * so missing fields answer 500 with the RPC error text (type errors stay 400).
 */
const rpcError = (message: string): HttpError => new HttpError(500, message);

export function decodeRegister(body: unknown, defaultDc: string): RegisterRequest {
  if (!isObject(body)) throw new HttpError(400, "Request decode failed: body must be a JSON object");
  const node = str(body, "Node");
  const skip = bool(body, "SkipNodeUpdate", "skip_node_update");
  const address = str(body, "Address");
  const svc = obj(body, "Service");
  const service = svc ? decodeService(svc) : null;
  const checks: RegisterRequest["Checks"] = [];
  const single = obj(body, "Check");
  if (single) checks.push(decodeCheck(single, node));
  const many = field(body, "Checks");
  if (many !== undefined && many !== null) {
    if (!Array.isArray(many)) throw new HttpError(400, "Request decode failed: Checks must be a list");
    for (const c of many) {
      if (!isObject(c)) throw new HttpError(400, "Request decode failed: Checks entries must be objects");
      checks.push(decodeCheck(c, node));
    }
  }
  const decoded: RegisterRequest = {
    ID: str(body, "ID"),
    Node: node,
    Address: address,
    Datacenter: str(body, "Datacenter") || defaultDc,
    TaggedAddresses: strMap(body, "TaggedAddresses", "tagged_addresses"),
    NodeMeta: strMap(body, "NodeMeta", "node_meta"),
    Service: service,
    Checks: checks,
    SkipNodeUpdate: skip,
  };
  if (node === "") throw rpcError("Must provide node");
  if (address === "" && !skip) throw rpcError("Must provide address if SkipNodeUpdate is not set");
  if (service && service.Service === "") throw rpcError("Must provide service name (Service.Service) when service ID is provided");
  for (const c of checks) {
    if (c.CheckID === "") throw new HttpError(400, "Must provide a CheckID or Name for every check");
    if (c.Node.toLowerCase() !== node.toLowerCase()) {
      throw rpcError(`Node '${c.Node}' for check '${c.CheckID}' doesn't match register request node '${node}'`);
    }
  }
  return decoded;
}

export function decodeDeregister(body: unknown): DeregisterRequest {
  if (!isObject(body)) throw new HttpError(400, "Request decode failed: body must be a JSON object");
  const req = { Node: str(body, "Node"), ServiceID: str(body, "ServiceID", "service_id"), CheckID: str(body, "CheckID", "check_id") };
  if (req.Node === "") throw rpcError("Must provide node");
  return req;
}
