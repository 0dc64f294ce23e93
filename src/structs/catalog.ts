/** Catalog wire types with Consul's exact JSON field names (agent/structs). */

export interface Weights {
  Passing: number;
  Warning: number;
}

export interface ServiceAddress {
  Address: string;
  Port: number;
}

export interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  Meta: Record<string, string>;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface NodeService {
  Kind: string;
  ID: string;
  Service: string;
  Tags: string[];
  Address: string;
  TaggedAddresses: Record<string, ServiceAddress>;
  Meta: Record<string, string>;
  Port: number;
  SocketPath: string;
  Weights: Weights;
  EnableTagOverride: boolean;
  Proxy: Record<string, unknown>;
  Connect: Record<string, unknown>;
  Locality: Record<string, unknown> | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export const HealthStatus = {
  Passing: "passing",
  Warning: "warning",
  Critical: "critical",
  Maintenance: "maintenance",
} as const;
export type HealthStatus = (typeof HealthStatus)[keyof typeof HealthStatus];

export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[];
  Type: string;
  Interval: string;
  Timeout: string;
  ExposedPort: number;
  Definition: Record<string, unknown>;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Catalog registration (Consul's structs.RegisterRequest). */
export interface RegisterRequest {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string>;
  NodeMeta: Record<string, string>;
  Service: Omit<NodeService, "CreateIndex" | "ModifyIndex"> | null;
  Checks: Omit<HealthCheck, "CreateIndex" | "ModifyIndex">[];
  SkipNodeUpdate: boolean;
}

/** Catalog deregistration (Consul's structs.DeregisterRequest). */
export interface DeregisterRequest {
  Node: string;
  ServiceID: string;
  CheckID: string;
}

/**
 * A service's proxy settings as Consul writes its ConnectProxyConfig: Mode,
 * MeshGateway and Expose are never omitted, so a plain service shows
 * `{"Mode":"","MeshGateway":{},"Expose":{}}` (clients rely on the shape).
 */
export function proxyJson(proxy: Record<string, unknown>): Record<string, unknown> {
  return { ...proxy, Mode: proxy.Mode ?? "", MeshGateway: proxy.MeshGateway ?? {}, Expose: proxy.Expose ?? {} };
}

/** `/v1/catalog/service/:s` row. */
export function serviceNodeJson(node: Node, svc: NodeService): Record<string, unknown> {
  return {
    ID: node.ID,
    Node: node.Node,
    Address: node.Address,
    Datacenter: node.Datacenter,
    TaggedAddresses: node.TaggedAddresses,
    NodeMeta: node.Meta,
    ServiceKind: svc.Kind,
    ServiceID: svc.ID,
    ServiceName: svc.Service,
    ServiceTags: svc.Tags,
    ServiceAddress: svc.Address,
    ServiceTaggedAddresses: svc.TaggedAddresses,
    ServiceWeights: svc.Weights,
    ServiceMeta: svc.Meta,
    ServicePort: svc.Port,
    ServiceSocketPath: svc.SocketPath,
    ServiceEnableTagOverride: svc.EnableTagOverride,
    ServiceProxy: proxyJson(svc.Proxy),
    ServiceConnect: svc.Connect,
    ServiceLocality: svc.Locality,
    CreateIndex: svc.CreateIndex,
    ModifyIndex: svc.ModifyIndex,
  };
}

export const SERF_CHECK_ID = "serfHealth";
export const SERF_CHECK_NAME = "Serf Health Status";
/** The serfHealth check's output for an alive member, and for a failed one. */
export const SERF_ALIVE_OUTPUT = "Agent alive and reachable";
export const SERF_FAILED_OUTPUT = "Agent not live or unreachable";
export const NODE_MAINT_CHECK_ID = "_node_maintenance";

/** The serfHealth check gossip keeps on every member's node. */
export function serfHealthCheck(node: string, status: string, output: string): Omit<HealthCheck, "CreateIndex" | "ModifyIndex"> {
  return {
    Node: node,
    CheckID: SERF_CHECK_ID,
    Name: SERF_CHECK_NAME,
    Status: status,
    Notes: "",
    Output: output,
    ServiceID: "",
    ServiceName: "",
    ServiceTags: [],
    Type: "",
    Interval: "",
    Timeout: "",
    ExposedPort: 0,
    Definition: {},
  };
}

/** The instance of the "consul" service every server appears as, as in Consul. */
export function consulServiceInstance(port: number, meta: Record<string, string>): Omit<NodeService, "CreateIndex" | "ModifyIndex"> {
  return {
    Kind: "",
    ID: "consul",
    Service: "consul",
    Tags: [],
    Address: "",
    TaggedAddresses: {},
    Meta: meta,
    Port: port,
    SocketPath: "",
    Weights: { Passing: 1, Warning: 1 },
    EnableTagOverride: false,
    Proxy: {},
    Connect: {},
    Locality: null,
  };
}
