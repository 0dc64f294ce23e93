/**
 * The compiled discovery chain (Consul's agent/structs/discovery_chain.go):
 * a graph of router, splitter and resolver nodes walked from StartNode, and
 * the targets (service + subset + datacenter) its resolvers end in. Field
 * names are Go's; durations are nanoseconds (render.ts writes the JSON).
 */
import type { Obj } from "../../configentry/kinds/kind.ts";

export const NodeType = { Router: "router", Splitter: "splitter", Resolver: "resolver" } as const;
export type NodeType = (typeof NodeType)[keyof typeof NodeType];

export interface TargetOpts {
  readonly Service: string;
  readonly ServiceSubset?: string;
  readonly Namespace?: string;
  readonly Partition?: string;
  readonly Datacenter?: string;
  readonly Peer?: string;
}

/** A subset definition as the resolver entry gives it. */
export interface SubsetDef {
  readonly Filter?: string;
  readonly OnlyPassing?: boolean;
}

export interface DiscoveryTarget {
  readonly ID: string;
  readonly Service: string;
  readonly ServiceSubset: string;
  readonly Namespace: string;
  readonly Partition: string;
  readonly Datacenter: string;
  readonly Peer: string;
  MeshGateway: { Mode: string };
  Subset: SubsetDef;
  TransparentProxy: { DialedDirectly: boolean };
  /** Nanoseconds. */
  ConnectTimeout: number;
  External: boolean;
  SNI: string;
  Name: string;
}

export interface DiscoveryFailover {
  readonly Targets: string[];
  readonly Policy: Obj | null;
}

export interface DiscoveryResolver {
  readonly Default: boolean;
  /** Nanoseconds. */
  readonly ConnectTimeout: number;
  /** Nanoseconds; 0 when unset. */
  readonly RequestTimeout: number;
  readonly Target: string;
  Failover: DiscoveryFailover | null;
}

export interface DiscoveryRoute {
  /** A ServiceRoute as decoded from the router entry (or the catch-all route). */
  readonly Definition: Obj;
  NextNode: string;
}

export interface DiscoverySplit {
  /** A ServiceSplit as decoded from the splitter entry (merged with its parent's headers when flattened). */
  readonly Definition: Obj;
  readonly Weight: number;
  NextNode: string;
}

export interface GraphNode {
  readonly Type: NodeType;
  readonly Name: string;
  Routes?: DiscoveryRoute[];
  Splits?: DiscoverySplit[];
  Resolver?: DiscoveryResolver;
  /** The resolver's LoadBalancer (or, on a splitter, the first hash-based one below it). */
  LoadBalancer?: Obj;
}

export interface CompiledChain {
  readonly ServiceName: string;
  readonly Namespace: string;
  readonly Partition: string;
  readonly Datacenter: string;
  readonly CustomizationHash: string;
  readonly Default: boolean;
  readonly Protocol: string;
  readonly ServiceMeta: Record<string, string> | null;
  readonly EnvoyExtensions: Obj[] | null;
  readonly StartNode: string;
  readonly Nodes: Record<string, GraphNode>;
  readonly Targets: Record<string, DiscoveryTarget>;
}

export const nodeKey = (n: { Type: string; Name: string }): string => `${n.Type}:${n.Name}`;

/** Consul's chainID: `[subset.]service.namespace.partition.datacenter`, or the peer form. */
export function targetId(t: Required<TargetOpts>): string {
  if (t.Peer !== "") return `${t.Service}.${t.Namespace}.default.external.${t.Peer}`;
  const base = `${t.Service}.${t.Namespace}.${t.Partition}.${t.Datacenter}`;
  return t.ServiceSubset === "" ? base : `${t.ServiceSubset}.${base}`;
}

/** Consul's connect.TargetSNI for the default partition. */
export function targetSni(t: { Service: string; ServiceSubset: string; Namespace: string; Datacenter: string }, trustDomain: string): string {
  const base = `${t.Service}.${t.Namespace}.${t.Datacenter}.internal.${trustDomain}`;
  return t.ServiceSubset === "" ? base : `${t.ServiceSubset}.${base}`;
}
