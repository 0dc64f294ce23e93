/**
 * Compiles a service's discovery chain from config entries, as Consul's
 * agent/consul/discoverychain/compile.go does: the router of the service
 * (plus a catch-all route), splitters (adjacent ones flattened into one with
 * multiplied weights), and resolvers with their redirects, default subsets
 * and failover targets. A pure function over an entry lookup.
 */
import { type EntryLookup, GraphError, serviceProtocol } from "../../configentry/graph.ts";
import { arr, type EntryBody, HTTP_LIKE, n, o, type Obj, s } from "../../configentry/kinds/kind.ts";
import { detectCircularReferences, flattenAdjacentSplitters, removeUnusedNodes } from "./graph_passes.ts";
import { applyServiceDefaults, failoverRewrites, isDefaultResolver, PROXY_DEFAULTS } from "./resolver_target.ts";
import { ChainTargets } from "./targets.ts";
import { type CompiledChain, type DiscoveryRoute, type DiscoverySplit, type DiscoveryTarget, type GraphNode, nodeKey, NodeType, type SubsetDef } from "./types.ts";

export { normalizeWeight } from "./graph_passes.ts";

export interface CompileRequest {
  readonly serviceName: string;
  readonly datacenter: string;
  readonly trustDomain: string;
  readonly entries: EntryLookup;
  /** "default" unless given. */
  readonly namespace?: string;
  readonly partition?: string;
  /** `OverrideProtocol`: tcp drops routers and splitters; anything else replaces the chain's protocol. */
  readonly overrideProtocol?: string;
  /** `OverrideConnectTimeout`, nanoseconds. */
  readonly overrideConnectTimeout?: number;
  /** `OverrideMeshGateway.Mode`. */
  readonly overrideMeshGatewayMode?: string;
}

export const DEFAULT_CONNECT_TIMEOUT_NS = 5_000_000_000;

const isHashBased = (lb: Obj | undefined) => lb !== undefined && (s(lb, "Policy") === "ring_hash" || s(lb, "Policy") === "maglev");

/** FNV-1a over the customization, as 8 hex digits (Consul hashes the same inputs with hashstructure). */
function customizationHash(v: unknown): string {
  let h = 0x811c9dc5;
  for (const ch of JSON.stringify(v)) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, "0");
}

class Compiler {
  private readonly r: CompileRequest;
  private readonly ns: string;
  private readonly ap: string;
  private readonly lookup: EntryLookup;
  private readonly disableAdvanced: boolean;
  private readonly splitterNodes = new Map<string, GraphNode>();
  private readonly resolveNodes = new Map<string, GraphNode>();
  private readonly nodes = new Map<string, GraphNode>();
  private readonly targets: ChainTargets;
  private usesAdvanced = false;
  private protocol = "";
  private startNode = "";
  private readonly customized = { meshGateway: false, protocol: false, connectTimeout: false };

  constructor(r: CompileRequest) {
    this.r = r;
    this.ns = r.namespace || "default";
    this.ap = r.partition || "default";
    this.lookup = r.entries;
    this.disableAdvanced = (r.overrideProtocol ?? "") !== "" && !HTTP_LIKE.has(r.overrideProtocol!);
    this.targets = new ChainTargets({ namespace: this.ns, partition: this.ap, datacenter: r.datacenter, trustDomain: r.trustDomain });
  }

  private sidString(service: string, ns = this.ns, ap = this.ap): string {
    return `${service}.${ns}.${ap}`;
  }

  private recordProtocol(service: string): void {
    const p = serviceProtocol(this.lookup, service).toLowerCase();
    if (this.protocol === "") this.protocol = p;
    else if (this.protocol !== p) {
      throw new GraphError(`discovery chain ${JSON.stringify(this.r.serviceName)} uses inconsistent protocols; service ${JSON.stringify(service)} has ${JSON.stringify(p)} which is not ${JSON.stringify(this.protocol)}`);
    }
  }

  private recordNode(node: GraphNode): void {
    if (node.Type === NodeType.Splitter) this.splitterNodes.set(node.Name, node);
    if (node.Type === NodeType.Resolver) this.resolveNodes.set(node.Resolver!.Target, node);
    this.nodes.set(nodeKey(node), node);
  }

  compile(): CompiledChain {
    const sd = this.lookup.get("service-defaults", this.r.serviceName);
    const pd = this.lookup.get(PROXY_DEFAULTS, "global");
    const extensions = [...arr(pd, "EnvoyExtensions"), ...arr(sd, "EnvoyExtensions")];
    this.assemble();
    detectCircularReferences(this.nodes, this.startNode);
    flattenAdjacentSplitters(this.nodes);
    removeUnusedNodes(this.nodes, this.startNode);
    if (!HTTP_LIKE.has(this.protocol) && this.usesAdvanced) {
      throw new GraphError(`discovery chain ${JSON.stringify(this.r.serviceName)} uses a protocol ${JSON.stringify(this.protocol)} that does not permit advanced routing or splitting behavior`);
    }
    const op = this.r.overrideProtocol ?? "";
    if (op !== "" && op !== this.protocol) {
      this.protocol = op;
      this.customized.protocol = true;
    }
    const c = this.customized;
    const hash =
      c.meshGateway || c.protocol || c.connectTimeout
        ? customizationHash({
            OverrideMeshGateway: { Mode: c.meshGateway ? this.r.overrideMeshGatewayMode : "" },
            OverrideProtocol: c.protocol ? op : "",
            OverrideConnectTimeout: c.connectTimeout ? this.r.overrideConnectTimeout : 0,
          })
        : "";
    const meta = sd ? ((o(sd, "Meta") as Record<string, string> | undefined) ?? null) : null;
    return {
      ServiceName: this.r.serviceName,
      Namespace: this.ns,
      Partition: this.ap,
      Datacenter: this.r.datacenter,
      CustomizationHash: hash,
      Default: this.isDefaultChain(),
      Protocol: this.protocol,
      ServiceMeta: meta,
      EnvoyExtensions: extensions.length > 0 ? extensions : null,
      StartNode: this.startNode,
      Nodes: Object.fromEntries(this.nodes),
      Targets: this.targets.retained(),
    };
  }

  private isDefaultChain(): boolean {
    const node = this.nodes.get(this.startNode);
    if (!node || node.Type !== NodeType.Resolver || !node.Resolver!.Default) return false;
    const t = this.targets.get(node.Resolver!.Target)!;
    return t.Service === this.r.serviceName && t.Namespace === this.ns && t.Partition === this.ap;
  }

  private assemble(): void {
    const name = this.r.serviceName;
    let router = this.lookup.get("service-router", name);
    if (router && this.disableAdvanced) {
      router = undefined;
      this.customized.protocol = true;
    }
    if (!router) {
      this.startNode = nodeKey(this.splitterOrResolver(this.targets.make({ Service: name })));
      return;
    }
    const routeNode: GraphNode = { Type: NodeType.Router, Name: this.sidString(router.Name), Routes: [] };
    this.usesAdvanced = true;
    this.recordProtocol(router.Name);
    for (const route of arr(router, "Routes")) {
      const compiled: DiscoveryRoute = { Definition: route, NextNode: "" };
      routeNode.Routes!.push(compiled);
      const dest = o(route, "Destination") ?? {};
      const svc = s(dest, "Service") || name;
      const ns = s(dest, "Namespace") || this.ns;
      const ap = s(dest, "Partition") || this.ap;
      const subset = s(dest, "ServiceSubset");
      const node = subset === "" ? this.splitterOrResolver(this.targets.make({ Service: svc, Namespace: ns, Partition: ap })) : this.resolverNode(this.targets.make({ Service: svc, ServiceSubset: subset, Namespace: ns, Partition: ap }), false);
      compiled.NextNode = nodeKey(node);
    }
    const fallback = this.splitterOrResolver(this.targets.make({ Service: router.Name, Namespace: this.ns, Partition: this.ap }));
    routeNode.Routes!.push({
      Definition: { Match: { HTTP: { PathPrefix: "/" } }, Destination: { Service: router.Name, Namespace: this.ns, Partition: this.ap } },
      NextNode: nodeKey(fallback),
    });
    this.startNode = nodeKey(routeNode);
    this.recordNode(routeNode);
  }

  private splitterOrResolver(target: DiscoveryTarget): GraphNode {
    return this.splitterNode(target.Service, target.Namespace, target.Partition) ?? this.resolverNode(target, false);
  }

  private splitterNode(service: string, ns: string, ap: string): GraphNode | null {
    const name = this.sidString(service, ns, ap);
    const prev = this.splitterNodes.get(name);
    if (prev) return prev;
    let splitter: EntryBody | undefined = this.lookup.get("service-splitter", service);
    if (splitter && this.disableAdvanced) {
      splitter = undefined;
      this.customized.protocol = true;
    }
    if (!splitter) return null;
    const node: GraphNode = { Type: NodeType.Splitter, Name: name, Splits: [] };
    this.recordNode(node);
    let hasLB = false;
    for (const split of arr(splitter, "Splits")) {
      const compiled: DiscoverySplit = { Definition: split, Weight: n(split, "Weight"), NextNode: "" };
      node.Splits!.push(compiled);
      const svc = s(split, "Service") || service;
      const splitNs = s(split, "Namespace") || ns;
      const splitAp = s(split, "Partition") || ap;
      const subset = s(split, "ServiceSubset");
      const same = svc === service && splitNs === ns && splitAp === ap;
      if (!same && subset === "") {
        const next = this.splitterNode(svc, splitNs, splitAp);
        if (next) {
          compiled.NextNode = nodeKey(next);
          continue;
        }
      }
      const res = this.resolverNode(this.targets.make({ Service: svc, ServiceSubset: subset, Namespace: splitNs, Partition: splitAp }), false);
      compiled.NextNode = nodeKey(res);
      if (!hasLB && isHashBased(res.LoadBalancer)) {
        node.LoadBalancer = res.LoadBalancer;
        hasLB = true;
      }
    }
    this.usesAdvanced = true;
    return node;
  }

  private resolverNode(start: DiscoveryTarget, forFailover: boolean): GraphNode {
    let target = start;
    const history = new Set<string>();
    const order: string[] = [];
    for (;;) {
      const prev = this.resolveNodes.get(target.ID);
      if (prev) return prev;
      if (target.Peer === "") this.recordProtocol(target.Service);
      const resolver: Obj = this.lookup.get("service-resolver", target.Service) ?? { Kind: "service-resolver", Name: target.Service };
      if (history.has(target.ID)) {
        order.push(target.ID);
        throw new GraphError(`detected circular resolver redirect: [${order.join(" -> ")}]`);
      }
      history.add(target.ID);
      order.push(target.ID);
      const redirect = o(resolver, "Redirect");
      if (redirect) {
        const next = this.targets.rewrite(target, {
          Service: s(redirect, "Service"),
          ServiceSubset: s(redirect, "ServiceSubset"),
          Namespace: s(redirect, "Namespace"),
          Partition: s(redirect, "Partition"),
          Datacenter: s(redirect, "Datacenter"),
          Peer: s(redirect, "Peer"),
        });
        if (next.ID !== target.ID) {
          target = next;
          continue;
        }
      }
      const defaultSubset = s(resolver, "DefaultSubset");
      if (target.ServiceSubset === "" && defaultSubset !== "") {
        target = this.targets.rewrite(target, { ServiceSubset: defaultSubset });
        continue;
      }
      return this.buildResolverNode(target, resolver, forFailover);
    }
  }

  private buildResolverNode(target: DiscoveryTarget, resolver: Obj, forFailover: boolean): GraphNode {
    const subsets = (o(resolver, "Subsets") ?? {}) as Record<string, SubsetDef>;
    if (target.ServiceSubset !== "" && !(target.ServiceSubset in subsets)) {
      throw new GraphError(`service ${JSON.stringify(target.Service)} does not have a subset named ${JSON.stringify(target.ServiceSubset)}`);
    }
    let connectTimeout = n(resolver, "ConnectTimeout");
    if (connectTimeout < 1) connectTimeout = DEFAULT_CONNECT_TIMEOUT_NS;
    const override = this.r.overrideConnectTimeout ?? 0;
    if (override > 0 && connectTimeout !== override) {
      connectTimeout = override;
      this.customized.connectTimeout = true;
    }
    target.ConnectTimeout = connectTimeout;
    const node: GraphNode = {
      Type: NodeType.Resolver,
      Name: target.ID,
      Resolver: { Default: isDefaultResolver(resolver), Target: target.ID, ConnectTimeout: connectTimeout, RequestTimeout: n(resolver, "RequestTimeout"), Failover: null },
    };
    const lb = o(resolver, "LoadBalancer");
    if (lb) node.LoadBalancer = lb;
    target.Subset = subsets[target.ServiceSubset] ?? {};

    if (applyServiceDefaults(target, resolver, this.lookup, this.r.overrideMeshGatewayMode ?? "")) this.customized.meshGateway = true;
    this.targets.retain(target.ID);
    if (forFailover) return node;
    this.recordNode(node);

    const failovers = o(resolver, "Failover") ?? {};
    const f = (failovers[target.ServiceSubset] ?? failovers["*"]) as Obj | undefined;
    if (!f) return node;
    const targets = failoverRewrites(f)
      .map((opts) => this.targets.rewrite(target, opts))
      .filter((t) => t.ID !== target.ID);
    if (targets.length === 0) return node;
    const policy = o(f, "Policy");
    const pd = this.lookup.get(PROXY_DEFAULTS, "global");
    const failover = { Targets: [] as string[], Policy: policy && s(policy, "Mode") !== "" ? policy : (o(pd, "FailoverPolicy") ?? null) };
    node.Resolver!.Failover = failover;
    for (const t of targets) failover.Targets.push(this.resolverNode(t, true).Resolver!.Target);
    return node;
  }
}

/** Throws GraphError for a chain Consul would refuse (mixed protocols, routing over tcp, loops, missing subsets). */
export function compileChain(r: CompileRequest): CompiledChain {
  if (r.serviceName === "") throw new Error("serviceName is required");
  if (r.datacenter === "") throw new Error("evaluateInDatacenter is required");
  if (r.trustDomain === "") throw new Error("evaluateInTrustDomain is required");
  return new Compiler(r).compile();
}
