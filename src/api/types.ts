/**
 * Wire types shared by several endpoint families, with Consul's exact JSON
 * field names (Go's `api` structs). Fields the agent may omit are optional.
 */

export interface Weights {
  Passing: number;
  Warning: number;
}

/** `ServiceAddress` has no json tags in Go, so the keys are `Address`/`Port`. */
export interface ServiceAddress {
  Address: string;
  Port: number;
}

export interface Node {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  Meta: Record<string, string> | null;
  Partition?: string;
  PeerName?: string;
  Locality?: { Region?: string; Zone?: string } | null;
  CreateIndex: number;
  ModifyIndex: number;
}

export type ServiceKind = "" | "connect-proxy" | "mesh-gateway" | "terminating-gateway" | "ingress-gateway" | "api-gateway";

export interface AgentService {
  Kind?: ServiceKind;
  ID: string;
  Service: string;
  Tags: string[] | null;
  Meta: Record<string, string> | null;
  Port: number;
  Address: string;
  SocketPath?: string;
  TaggedAddresses?: Record<string, ServiceAddress>;
  Weights: Weights;
  EnableTagOverride: boolean;
  CreateIndex?: number;
  ModifyIndex?: number;
  ContentHash?: string;
  Proxy?: Record<string, unknown>;
  Connect?: { Native?: boolean; SidecarService?: Record<string, unknown> };
  PeerName?: string;
  Namespace?: string;
  Partition?: string;
  Datacenter?: string;
}

export interface HealthCheckDefinition {
  HTTP?: string;
  Header?: Record<string, string[]>;
  Method?: string;
  Body?: string;
  TLSServerName?: string;
  TLSSkipVerify?: boolean;
  TCP?: string;
  UDP?: string;
  GRPC?: string;
  GRPCUseTLS?: boolean;
  Interval?: string;
  Timeout?: string;
  DeregisterCriticalServiceAfter?: string;
  [key: string]: unknown;
}

export type HealthStatus = "passing" | "warning" | "critical" | "maintenance";

export interface HealthCheck {
  Node: string;
  CheckID: string;
  Name: string;
  Status: string;
  Notes: string;
  Output: string;
  ServiceID: string;
  ServiceName: string;
  ServiceTags: string[] | null;
  Type: string;
  Interval?: string;
  Timeout?: string;
  ExposedPort?: number;
  PeerName?: string;
  Namespace?: string;
  Partition?: string;
  Definition?: HealthCheckDefinition;
  CreateIndex: number;
  ModifyIndex: number;
}

/** Conversion helper: accept what the agent sent, typed as the wire struct. */
export function asArray<T>(json: unknown): T[] {
  if (json === null || json === undefined) return [];
  if (!Array.isArray(json)) throw new TypeError(`Expected a JSON array, got ${typeof json}`);
  return json as T[];
}
