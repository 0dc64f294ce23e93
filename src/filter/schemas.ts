/**
 * The shapes Consul filters over, with the selectors its filter documentation
 * lists for each endpoint (field names as Consul's JSON spells them). Fields
 * Consul hides from filtering (`bexpr:"-"`: CreateIndex/ModifyIndex, check
 * Definition, proxy Config, AgentService.Datacenter, Namespace/Partition on
 * OSS, Locality) are left out, so selecting them is an error as in Consul.
 */
import type { FieldSchema } from "./schema.ts";

const str: FieldSchema = { kind: "string" };
const num: FieldSchema = { kind: "number" };
const bool: FieldSchema = { kind: "bool" };
const strings: FieldSchema = { kind: "list", elem: str };
const stringMap: FieldSchema = { kind: "map", elem: str };

const serviceAddress: FieldSchema = { kind: "struct", fields: { Address: str, Port: num } };
const weights: FieldSchema = { kind: "struct", fields: { Passing: num, Warning: num } };
const meshGatewayConfig: FieldSchema = { kind: "struct", fields: { Mode: str } };

const upstream: FieldSchema = {
  kind: "struct",
  fields: {
    DestinationType: str,
    DestinationNamespace: str,
    DestinationPartition: str,
    DestinationPeer: str,
    DestinationName: str,
    Datacenter: str,
    LocalBindAddress: str,
    LocalBindPort: num,
    LocalBindSocketPath: str,
    LocalBindSocketMode: str,
    MeshGateway: meshGatewayConfig,
  },
};

const exposePath: FieldSchema = {
  kind: "struct",
  fields: { ListenerPort: num, Path: str, LocalPathPort: num, Protocol: str, ParsedFromCheck: bool },
};

const connectProxyConfig: FieldSchema = {
  kind: "struct",
  fields: {
    EnvoyExtensions: {
      kind: "list",
      elem: { kind: "struct", fields: { Name: str, Required: bool, ConsulVersion: str, EnvoyVersion: str } },
    },
    DestinationServiceName: str,
    DestinationServiceID: str,
    LocalServiceAddress: str,
    LocalServicePort: num,
    LocalServiceSocketPath: str,
    Mode: str,
    Upstreams: { kind: "list", elem: upstream },
    MeshGateway: meshGatewayConfig,
    Expose: { kind: "struct", fields: { Checks: bool, Paths: { kind: "list", elem: exposePath } } },
    TransparentProxy: { kind: "struct", fields: { OutboundListenerPort: num, DialedDirectly: bool } },
    AccessLogs: {
      kind: "struct",
      fields: { Enabled: bool, DisableListenerLogs: bool, Type: str, Path: str, JSONPath: str, TextPath: str },
    },
  },
};

const serviceConnect: FieldSchema = { kind: "struct", fields: { Native: bool } };

/** A catalog node: `/v1/catalog/nodes` rows, `Node` in health results. */
export const nodeSchema: FieldSchema = {
  kind: "struct",
  fields: {
    ID: str,
    Node: str,
    Partition: str,
    PeerName: str,
    Address: str,
    Datacenter: str,
    TaggedAddresses: stringMap,
    Meta: stringMap,
  },
};

/** A service instance on a node (`NodeService`): `Service` in health results. */
export const nodeServiceSchema: FieldSchema = {
  kind: "struct",
  fields: {
    Kind: str,
    ID: str,
    Service: str,
    Tags: strings,
    Address: str,
    TaggedAddresses: { kind: "map", elem: serviceAddress },
    Meta: stringMap,
    Port: num,
    SocketPath: str,
    Weights: weights,
    EnableTagOverride: bool,
    Proxy: connectProxyConfig,
    Connect: serviceConnect,
    PeerName: str,
  },
};

/**
 * `/v1/catalog/node/:node` (values of `Services`) and
 * `/v1/catalog/node-services/:node` (entries of `Services`) filter each NodeService.
 */
export const nodeServicesSchema: FieldSchema = nodeServiceSchema;

/**
 * `/v1/agent/services` values (`api.AgentService`). Consul checks that its
 * filterable fields are those of NodeService; `Datacenter` is hidden from filters.
 */
export const agentServiceSchema: FieldSchema = nodeServiceSchema;

/** `/v1/catalog/service/:s` and `/v1/catalog/services` rows (`ServiceNode`). */
export const serviceNodeSchema: FieldSchema = {
  kind: "struct",
  fields: {
    ID: str,
    Node: str,
    Address: str,
    Datacenter: str,
    TaggedAddresses: stringMap,
    NodeMeta: stringMap,
    ServiceKind: str,
    ServiceID: str,
    ServiceName: str,
    ServiceTags: strings,
    ServiceAddress: str,
    ServiceTaggedAddresses: { kind: "map", elem: serviceAddress },
    ServiceWeights: weights,
    ServiceMeta: stringMap,
    ServicePort: num,
    ServiceSocketPath: str,
    ServiceEnableTagOverride: bool,
    ServiceProxy: connectProxyConfig,
    ServiceConnect: serviceConnect,
    PeerName: str,
  },
};

/** `/v1/health/node/:n`, `/health/checks/:s`, `/health/state/:st`, `/agent/checks` rows. */
export const healthCheckSchema: FieldSchema = {
  kind: "struct",
  fields: {
    Node: str,
    CheckID: str,
    Name: str,
    Status: str,
    Notes: str,
    Output: str,
    ServiceID: str,
    ServiceName: str,
    ServiceTags: strings,
    Type: str,
    Interval: str,
    Timeout: str,
    ExposedPort: num,
    PeerName: str,
  },
};

/** `/v1/health/service/:s`, `/health/connect/:s`, `/health/ingress/:s` rows and service-resolver subsets. */
export const checkServiceNodeSchema: FieldSchema = {
  kind: "struct",
  fields: {
    Node: nodeSchema,
    Service: nodeServiceSchema,
    Checks: { kind: "list", elem: healthCheckSchema },
  },
};

/** `/v1/internal/ui/nodes` rows (`NodeInfo`, a node dump entry). */
export const nodeInfoSchema: FieldSchema = {
  kind: "struct",
  fields: {
    ID: str,
    Node: str,
    Partition: str,
    PeerName: str,
    Address: str,
    TaggedAddresses: stringMap,
    Meta: stringMap,
    Services: { kind: "list", elem: nodeServiceSchema },
    Checks: { kind: "list", elem: healthCheckSchema },
  },
};

/** `/v1/connect/intentions` rows. */
export const intentionSchema: FieldSchema = {
  kind: "struct",
  fields: {
    ID: str,
    Description: str,
    SourcePeer: str,
    SourceSamenessGroup: str,
    SourcePartition: str,
    SourceNS: str,
    SourceName: str,
    DestinationPartition: str,
    DestinationNS: str,
    DestinationName: str,
    SourceType: str,
    Action: str,
    Precedence: num,
    Meta: stringMap,
  },
};
