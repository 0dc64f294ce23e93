/** A compiled chain as Consul's HTTP API writes it (encoding/json over structs.CompiledDiscoveryChain). */
import { encodeWithSchema } from "../../configentry/encode.ts";
import { failoverPolicy } from "../../configentry/kinds/common.ts";
import { loadBalancerSchema, serviceRouteSchema, serviceSplitSchema } from "../../configentry/kinds/chain.ts";
import { formatGoDuration } from "../../structs/duration.ts";
import type { CompiledChain, DiscoveryResolver, DiscoveryTarget, GraphNode } from "./types.ts";

type Json = Record<string, unknown>;

/** Drops the keys whose values Go's omitempty would leave out. */
function omitEmpty(o: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null || v === "" || v === 0 || v === false) continue;
    if (Array.isArray(v) && v.length === 0) continue;
    if (typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0 && k !== "MeshGateway" && k !== "Subset" && k !== "TransparentProxy") continue;
    out[k] = v;
  }
  return out;
}

const goDuration = (ns: number): string => (ns === 0 ? "" : formatGoDuration(ns / 1e6));

function renderResolver(r: DiscoveryResolver): Json {
  // Consul's MarshalJSON writes ConnectTimeout as text first; RequestTimeout stays nanoseconds.
  return omitEmpty({
    ConnectTimeout: goDuration(r.ConnectTimeout),
    Default: r.Default,
    RequestTimeout: r.RequestTimeout,
    Target: r.Target,
    Failover: r.Failover ? omitEmpty({ Targets: r.Failover.Targets, Policy: r.Failover.Policy ? encodeWithSchema(r.Failover.Policy, failoverPolicy) : null }) : null,
  });
}

function renderNode(n: GraphNode): Json {
  return omitEmpty({
    Type: n.Type,
    Name: n.Name,
    Routes: n.Routes?.map((r) => omitEmpty({ Definition: encodeWithSchema(r.Definition, serviceRouteSchema), NextNode: r.NextNode })),
    Splits: n.Splits?.map((sp) => omitEmpty({ Definition: encodeWithSchema(sp.Definition, serviceSplitSchema), Weight: sp.Weight, NextNode: sp.NextNode })),
    Resolver: n.Resolver ? renderResolver(n.Resolver) : null,
    LoadBalancer: n.LoadBalancer ? encodeWithSchema(n.LoadBalancer, loadBalancerSchema) : null,
  });
}

function renderTarget(t: DiscoveryTarget): Json {
  return omitEmpty({
    ConnectTimeout: goDuration(t.ConnectTimeout),
    ID: t.ID,
    Service: t.Service,
    ServiceSubset: t.ServiceSubset,
    Namespace: t.Namespace,
    Partition: t.Partition,
    Datacenter: t.Datacenter,
    Peer: t.Peer,
    MeshGateway: omitEmpty({ Mode: t.MeshGateway.Mode }),
    Subset: omitEmpty({ Filter: t.Subset.Filter, OnlyPassing: t.Subset.OnlyPassing }),
    TransparentProxy: omitEmpty({ DialedDirectly: t.TransparentProxy.DialedDirectly }),
    External: t.External,
    SNI: t.SNI,
    Name: t.Name,
  });
}

const mapValues = <A, B>(m: Record<string, A>, f: (a: A) => B): Record<string, B> =>
  Object.fromEntries(Object.keys(m).sort().map((k) => [k, f(m[k]!)]));

/** `{"Chain": {...}}` body of GET /v1/discovery-chain/:service. */
export function renderChain(c: CompiledChain): Json {
  return {
    ServiceName: c.ServiceName,
    Namespace: c.Namespace,
    Partition: c.Partition,
    Datacenter: c.Datacenter,
    ...omitEmpty({
      CustomizationHash: c.CustomizationHash,
      Default: c.Default,
      Protocol: c.Protocol,
      ServiceMeta: c.ServiceMeta,
      EnvoyExtensions: c.EnvoyExtensions,
      StartNode: c.StartNode,
      Nodes: mapValues(c.Nodes, renderNode),
      Targets: mapValues(c.Targets, renderTarget),
    }),
  };
}
