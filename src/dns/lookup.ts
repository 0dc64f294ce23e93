/**
 * What the DNS handler asks of the catalog. The server-backed implementation
 * reads the state store (state_lookup.ts); tests may supply their own. Every
 * method is synchronous: answers come from the local store, never the network.
 */
import type { HealthCheck, Node, NodeService } from "../structs/catalog.ts";

/** One service instance with the checks that bear on it (node checks and its own). */
export interface ServiceInstance {
  readonly node: Node;
  readonly service: NodeService;
  readonly checks: readonly HealthCheck[];
}

/** A prepared query's outcome: its instances, already filtered and ordered by the server. */
export interface PreparedQueryResult {
  readonly service: string;
  readonly datacenter: string;
  /** The query's DNS.TTL, in seconds, when it sets one. */
  readonly ttlSeconds: number | null;
  readonly instances: readonly ServiceInstance[];
  /**
   * True when the answer came from this datacenter's state alone, unsorted
   * (no `near`, no failover): it may be shuffled and cached like a service
   * answer until the state changes.
   */
  readonly cacheable?: boolean;
}

/** Instances reachable by position (a view over a set the store keeps), built one at a time. */
export interface InstanceDeck {
  readonly size: number;
  /** The i-th instance (0 <= i < size). */
  at(i: number): ServiceInstance;
}

export interface DnsLookup {
  /**
   * A number that changes whenever any answer could change (for the answer
   * cache). Lookups without it, or answering NaN, are never cached.
   */
  version?(): number;
  /**
   * Whether this agent can answer for `dc`. Until federation forwards queries,
   * only the local datacenter is known; others answer NXDOMAIN, as Consul does
   * for a datacenter it has no path to.
   */
  knowsDatacenter(dc: string): boolean;
  /** Instances of a service, any health, name matched case-insensitively. */
  serviceInstances(dc: string, service: string): readonly ServiceInstance[];
  /**
   * The healthy instances of a service (no critical check; with
   * `onlyPassing`, every check passing), as kept by the store, so an answer
   * can draw a few at random without visiting the others. Optional: without
   * it (or answering null) answers filter `serviceInstances`.
   */
  healthyInstances?(dc: string, service: string, onlyPassing: boolean): InstanceDeck | null;
  /** Connect-capable endpoints: proxies whose destination is `service`, and native instances of it. */
  connectInstances(dc: string, service: string): readonly ServiceInstance[];
  /** Ingress-gateway instances that expose `service`. */
  ingressInstances(dc: string, service: string): readonly ServiceInstance[];
  /** The service's virtual IP in `dc` (allocated by its servers, see state/virtual_ips.ts), or null. */
  virtualIp(dc: string, service: string): string | null;
  /** A node by name, case-insensitively, or null. */
  node(dc: string, name: string): Node | null;
  /** All nodes of a datacenter, sorted by name (for PTR lookups). */
  nodes(dc: string): readonly Node[];
  /** Service instances whose own address is `address` (PTR fallback). */
  instancesByAddress(dc: string, address: string): readonly ServiceInstance[];
  /** The datacenter's Consul servers (the `consul` service), for NS answers. */
  servers(dc: string): readonly ServiceInstance[];
  /** Executes a prepared query by name or ID; null when none exists (or its answer is not known yet, see query_lookup.ts). */
  preparedQuery(dc: string, nameOrId: string, sourceIp: string): PreparedQueryResult | null;
}
