/**
 * Shape checks for arguments that arrive over the wire. In-process callers
 * are type-checked; a peer on the RPC port is not, and a write with a wrong
 * shape must be refused before it reaches the log (where it would be
 * replayed forever). Values are checked as the HTTP decoders produce them.
 */
import { BadRequestError } from "./errors.ts";
import type { Method } from "./types.ts";
import { KvVerb } from "../structs/kv.ts";

type Check = (v: unknown, path: string) => void;

const fail = (path: string, what: string): never => {
  throw new BadRequestError(`Invalid RPC arguments: ${path} must be ${what}`);
};
const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const str: Check = (v, p) => void (typeof v !== "string" && fail(p, "a string"));
const num: Check = (v, p) => void ((typeof v !== "number" || !Number.isFinite(v)) && fail(p, "a number"));
const bool: Check = (v, p) => void (typeof v !== "boolean" && fail(p, "a boolean"));
const anyObj: Check = (v, p) => void (!isObj(v) && fail(p, "an object"));
const uintText: Check = (v, p) => void ((typeof v !== "string" || !/^\d{1,20}$/.test(v)) && fail(p, "a decimal string"));

const optional = (c: Check): Check => (v, p) => {
  if (v !== undefined) c(v, p);
};
const nullable = (c: Check): Check => (v, p) => {
  if (v !== null) c(v, p);
};
const arr = (c: Check): Check => (v, p) => {
  if (!Array.isArray(v)) return fail(p, "a list");
  v.forEach((x, i) => c(x, `${p}[${i}]`));
};
const map = (c: Check): Check => (v, p) => {
  if (!isObj(v)) return fail(p, "an object");
  for (const [k, x] of Object.entries(v)) c(x, `${p}.${k}`);
};
const obj = (fields: Record<string, Check>): Check => (v, p) => {
  if (!isObj(v)) return fail(p, "an object");
  for (const [k, c] of Object.entries(fields)) c(v[k], p === "" ? k : `${p}.${k}`);
};
const oneOf = (values: readonly string[]): Check => (v, p) => void (!values.includes(v as string) && fail(p, `one of ${values.join(", ")}`));

const service = obj({
  Kind: str,
  ID: str,
  Service: str,
  Tags: arr(str),
  Address: str,
  TaggedAddresses: map(obj({ Address: str, Port: num })),
  Meta: map(str),
  Port: num,
  SocketPath: str,
  Weights: obj({ Passing: num, Warning: num }),
  EnableTagOverride: bool,
  Proxy: anyObj,
  Connect: anyObj,
  Locality: nullable(anyObj),
});

const check = obj({
  Node: str,
  CheckID: str,
  Name: str,
  Status: str,
  Notes: str,
  Output: str,
  ServiceID: str,
  ServiceName: str,
  ServiceTags: arr(str),
  Type: str,
  Interval: str,
  Timeout: str,
  ExposedPort: num,
  Definition: anyObj,
});

const register = obj({
  ID: str,
  Node: str,
  Address: str,
  Datacenter: str,
  TaggedAddresses: map(str),
  NodeMeta: map(str),
  Service: nullable(service),
  Checks: arr(check),
  SkipNodeUpdate: bool,
});

const kvEntry = obj({ Key: str, Value: nullable(str), Flags: uintText, Session: str, ModifyIndex: num });

const txnOp: Check = (v, p) => {
  if (!isObj(v)) return fail(p, "an object");
  if ("KV" in v) return obj({ Verb: oneOf(Object.values(KvVerb)), Entry: kvEntry })(v.KV, `${p}.KV`);
  if ("Node" in v) return obj({ Verb: str, Node: register, Index: num })(v.Node, `${p}.Node`);
  if ("Service" in v) return obj({ Verb: str, Node: str, Service: service, Index: num })(v.Service, `${p}.Service`);
  if ("Check" in v) return obj({ Verb: str, Check: check, Index: num })(v.Check, `${p}.Check`);
  return fail(p, "a KV, Node, Service or Check operation");
};

const session = obj({
  ID: str,
  Name: str,
  Node: str,
  LockDelayMs: num,
  Behavior: oneOf(["release", "delete"]),
  TTL: str,
  NodeChecks: arr(str),
  ServiceChecks: arr(obj({ ID: str, Namespace: str })),
});

const sessionApply: Check = (v, p) => {
  if (!isObj(v)) return fail(p, "an object");
  if (v.Op === "create") return obj({ Session: session })(v, p);
  if (v.Op === "destroy") return obj({ ID: str })(v, p);
  return fail(`${p}Op`, "create or destroy");
};

const DNS_FIELDS: Record<string, readonly string[]> = {
  serviceInstances: ["Dc", "Name"],
  connectInstances: ["Dc", "Name"],
  ingressInstances: ["Dc", "Name"],
  virtualIp: ["Dc", "Name"],
  node: ["Dc", "Name"],
  nodes: ["Dc"],
  instancesByAddress: ["Dc", "Address"],
  servers: ["Dc"],
  preparedQuery: ["Dc", "Name", "SourceIp"],
};

const dnsOp: Check = (v, p) => {
  if (!isObj(v)) return fail(p, "an object");
  const fields = typeof v.Op === "string" && Object.hasOwn(DNS_FIELDS, v.Op) ? DNS_FIELDS[v.Op]! : fail(`${p}.Op`, "a DNS lookup");
  for (const f of fields) str(v[f], `${p}.${f}`);
};

const failover = obj({ NearestN: num, Datacenters: nullable(arr(str)), Targets: nullable(arr(obj({ Peer: str, Datacenter: str }))) });
const preparedQuery = obj({
  ID: str,
  Name: str,
  Session: str,
  Token: str,
  Template: obj({ Type: str, Regexp: str, RemoveEmptyTags: bool }),
  Service: obj({
    Service: str,
    SamenessGroup: str,
    Failover: failover,
    OnlyPassing: bool,
    IgnoreCheckIDs: nullable(arr(str)),
    Near: str,
    Tags: nullable(arr(str)),
    NodeMeta: nullable(map(str)),
    ServiceMeta: nullable(map(str)),
    Connect: bool,
    Peer: str,
    Tiers: optional(
      arr(obj({ Service: optional(str), Tags: optional(arr(str)), NodeMeta: optional(map(str)), ServiceMeta: optional(map(str)), OnlyPassing: optional(bool), Failover: optional(failover) })),
    ),
    SkipLocal: optional(bool),
    MinHealthy: optional(num),
  }),
  DNS: obj({ TTL: str }),
  CreateIndex: num,
  ModifyIndex: num,
});
const executeArgs = obj({
  QueryIDOrName: str,
  Limit: num,
  Connect: bool,
  Source: obj({ Node: str, Ip: str }),
  Agent: obj({ Node: str, Datacenter: str, Segment: str }),
});

const validators: Partial<Record<Method, Check>> = {
  "PreparedQuery.Apply": obj({ Op: oneOf(["create", "update", "delete"]), Query: preparedQuery }),
  "PreparedQuery.Get": obj({ QueryID: str }),
  "PreparedQuery.Explain": executeArgs,
  "PreparedQuery.Execute": executeArgs,
  "PreparedQuery.ExecuteRemote": obj({ Query: preparedQuery, Limit: num, Connect: bool }),
  "Catalog.Register": register,
  "Catalog.Deregister": obj({ Node: str, ServiceID: str, CheckID: str }),
  "Catalog.ListServices": obj({ NodeMeta: arr(arr(str)), Filter: str }),
  "Catalog.ListNodes": obj({ Near: optional(str) }),
  "Catalog.ServiceNodes": obj({ ServiceName: str, Near: optional(str) }),
  "Catalog.NodeServices": obj({ Node: str }),
  "Catalog.ConnectServiceNodes": obj({ ServiceName: str, Near: optional(str) }),
  "Catalog.VirtualIPForService": obj({ ServiceName: str }),
  "Health.NodeChecks": obj({ Node: str }),
  "Health.ServiceChecks": obj({ ServiceName: str, Near: optional(str) }),
  "Health.ChecksInState": obj({ State: str, Near: optional(str) }),
  "Health.ServiceNodes": obj({ ServiceName: str, Near: optional(str) }),
  "Health.ConnectServiceNodes": obj({ ServiceName: str, Near: optional(str) }),
  "KVS.Get": obj({ Key: str }),
  "KVS.List": obj({ Key: str }),
  "KVS.ListKeys": obj({ Prefix: str, Separator: str }),
  "KVS.Apply": obj({ Op: oneOf(Object.values(KvVerb)), Entry: kvEntry }),
  "Session.Apply": sessionApply,
  "Session.Get": obj({ SessionID: str }),
  "Session.NodeSessions": obj({ Node: str }),
  "Session.Renew": obj({ SessionID: str }),
  "Txn.Apply": obj({ Ops: arr(txnOp) }),
  "Txn.Read": obj({ Ops: arr(txnOp) }),
  "Internal.DNSLookup": obj({ Ops: arr(dnsOp) }),
  "Internal.NodeDump": obj({ Node: optional(str) }),
  "Internal.GatewayServiceDump": obj({ ServiceName: str }),
  "Internal.ServiceTopology": obj({ ServiceName: str, ServiceKind: str }),
  "Internal.KeyringOperation": obj({ Operation: oneOf(["list", "install", "use", "remove"]), Key: str, LocalOnly: bool }),
  "Internal.EventFire": obj({ Name: str, Payload: (v, p) => void (!(v instanceof Uint8Array) && fail(p, "bytes")) }),
  // Non-finite numbers cannot cross the wire; the endpoint refuses NaN and infinities from in-process callers.
  "Coordinate.Update": obj({ Node: str, Segment: str, Coord: obj({ Vec: arr(num), Error: num, Adjustment: num, Height: num }) }),
  "Coordinate.Node": obj({ Node: str }),
  "ConnectCA.ConfigurationSet": obj({ Config: obj({ Provider: str, Config: anyObj, State: nullable(map(str)), ForceWithoutCrossSigning: bool }) }),
  "ConnectCA.Sign": obj({ CSR: str }),
  "AutoEncrypt.Sign": obj({ CSR: str }),
  "ConnectCA.SignIntermediate": obj({ CSR: str }),
  // ACL bodies (Token, Policy, Role) are decoded field by field by the endpoints.
  "ACL.TokenSet": obj({ Create: bool, AccessorID: optional(str) }),
  "ACL.TokenClone": obj({ AccessorID: str, Description: str }),
  "ACL.TokenRead": obj({ TokenID: str, Self: bool }),
  "ACL.TokenDelete": obj({ TokenID: str }),
  "ACL.TokenList": obj({ Policy: str, Role: str, ServiceName: str, AuthMethod: str }),
  "ACL.PolicySet": obj({ Create: bool, ID: optional(str) }),
  "ACL.PolicyRead": obj({ PolicyID: str, PolicyName: str }),
  "ACL.PolicyDelete": obj({ PolicyID: str }),
  "ACL.RoleSet": obj({ Create: bool, ID: optional(str) }),
  "ACL.RoleRead": obj({ RoleID: str, RoleName: str }),
  "ACL.RoleList": obj({ Policy: str }),
  "ACL.RoleDelete": obj({ RoleID: str }),
  "ACL.AuthMethodSet": obj({ Create: bool, Name: optional(str) }),
  "ACL.AuthMethodRead": obj({ AuthMethodName: str }),
  "ACL.AuthMethodDelete": obj({ AuthMethodName: str }),
  "ACL.BindingRuleSet": obj({ Create: bool, ID: optional(str) }),
  "ACL.BindingRuleRead": obj({ BindingRuleID: str }),
  "ACL.BindingRuleList": obj({ AuthMethod: str }),
  "ACL.BindingRuleDelete": obj({ BindingRuleID: str }),
  "ACL.ReplicationRead": obj({ Tokens: bool }),
  "ACL.Login": obj({ AuthMethod: str, BearerToken: str, Meta: map(str) }),
};

/**
 * Throws BadRequestError when `args` does not have the shape `method`
 * takes. Methods without a validator need only an object.
 */
export function validateArgs(method: Method, args: unknown): void {
  const v = validators[method];
  if (v) v(args, "");
  else if (!isObj(args)) fail("arguments", "an object");
}

/** Lets an area register the shape check of its own endpoint. */
export function registerValidator(method: Method, check: (args: unknown) => void): void {
  validators[method] = (v) => check(v);
}

const options = obj({ datacenter: str, minIndex: num, waitMs: num, consistency: oneOf(["default", "stale", "consistent"]), maxStaleMs: num, token: optional(str) });

/** The request options of a frame from the wire. */
export function validateOptions(o: unknown): void {
  options(o, "options");
}
