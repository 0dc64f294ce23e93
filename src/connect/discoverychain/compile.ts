/**
 * Compiles a service's discovery chain from config entries, as Consul's
 * agent/consul/discoverychain/compile.go does: the router of the service
 * (plus a catch-all route), splitters (adjacent ones flattened into one with
 * multiplied weights), and resolvers with their redirects, default subsets
 * and failover targets. A pure function over an entry lookup.
 */
import { type EntryLookup, GraphError, serviceProtocol } from "../../configentry/graph.ts";
import { arr, type EntryBody, HTTP_LIKE, n, o, type Obj, s, strs } from "../../configentry/kinds/kind.ts";
import {
  type CompiledChain,
  type DiscoveryRoute,
  type DiscoverySplit,
  type DiscoveryTarget,
  type GraphNode,
  nodeKey,
  NodeType,
  type SubsetDef,
  targetId,
  type TargetOpts,
  targetSni,
} from "./types.ts";

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
const PROXY_DEFAULTS = "proxy-defaults";

const isHashBased = (lb: Obj | undefined) => lb !== undefined && (s(lb, "Policy") === "ring_hash" || s(lb, "Policy") === "maglev");

/** Consul's ServiceResolverConfigEntry.IsDefault: a resolver that changes nothing. */
function isDefaultResolver(r: Obj): boolean {
  return (
    s(r, "DefaultSubset") === "" &&
    Object.keys(o(r, "Subsets") ?? {}).length === 0 &&
    o(r, "Redirect") === undefined &&
    Object.keys(o(r, "Failover") ?? {}).length === 0 &&
    n(r, "ConnectTimeout") === 0 &&
    n(r, "RequestTimeout") === 0 &&
    o(r, "LoadBalancer") === undefined
  );
}

/** Weights are kept to two decimals (Consul's NormalizeServiceSplitWeight). */
export const normalizeWeight = (w: number): number => Math.round(w * 100) / 100;

/** Consul's MergeHTTPHeaderModifiers: the child's Add/Set win, Remove lists concatenate. */
function mergeHeaderMods(parent: Obj | undefined, child: Obj | undefined): Obj | undefined {
  if (!parent) return child;
  if (!child) return parent;
  return {
    Add: { ...(o(parent, "Add") ?? {}), ...(o(child, "Add") ?? {}) },
    Set: { ...(o(parent, "Set") ?? {}), ...(o(child, "Set") ?? {}) },
    Remove: [...strs(parent, "Remove"), ...strs(child, "Remove")],
  };
}

function mergeSplitParent(child: Obj, parent: Obj): Obj {
  const out: Obj = { ...child };
  const req = mergeHeaderMods(o(parent, "RequestHeaders"), o(child, "RequestHeaders"));
  const resp = mergeHeaderMods(o(parent, "ResponseHeaders"), o(child, "ResponseHeaders"));
  if (req) out.RequestHeaders = req;
  if (resp) out.ResponseHeaders = resp;
  return out;
}

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
  private readonly loadedTargets = new Map<string, DiscoveryTarget>();
  private readonly retainedTargets = new Set<string>();
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
    this.detectCircularReferences();
    this.flattenAdjacentSplitters();
    this.removeUnusedNodes();
    for (const id of [...this.loadedTargets.keys()]) if (!this.retainedTargets.has(id)) this.loadedTargets.delete(id);
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
      Targets: Object.fromEntries(this.loadedTargets),
    };
  }

  private isDefaultChain(): boolean {
    const node = this.nodes.get(this.startNode);
    if (!node || node.Type !== NodeType.Resolver || !node.Resolver!.Default) return false;
    const t = this.loadedTargets.get(node.Resolver!.Target)!;
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
      this.startNode = nodeKey(this.splitterOrResolver(this.newTarget({ Service: name })));
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
      const node = subset === "" ? this.splitterOrResolver(this.newTarget({ Service: svc, Namespace: ns, Partition: ap })) : this.resolverNode(this.newTarget({ Service: svc, ServiceSubset: subset, Namespace: ns, Partition: ap }), false);
      compiled.NextNode = nodeKey(node);
    }
    const fallback = this.splitterOrResolver(this.newTarget({ Service: router.Name, Namespace: this.ns, Partition: this.ap }));
    routeNode.Routes!.push({
      Definition: { Match: { HTTP: { PathPrefix: "/" } }, Destination: { Service: router.Name, Namespace: this.ns, Partition: this.ap } },
      NextNode: nodeKey(fallback),
    });
    this.startNode = nodeKey(routeNode);
    this.recordNode(routeNode);
  }

  private newTarget(opts: TargetOpts): DiscoveryTarget {
    const peer = opts.Peer ?? "";
    const full: Required<TargetOpts> =
      peer === ""
        ? {
            Service: opts.Service,
            ServiceSubset: opts.ServiceSubset ?? "",
            Namespace: opts.Namespace || this.ns,
            Partition: opts.Partition || this.ap,
            Datacenter: opts.Datacenter || this.r.datacenter,
            Peer: "",
          }
        : { Service: opts.Service, ServiceSubset: opts.ServiceSubset ?? "", Namespace: opts.Namespace || "default", Partition: "default", Datacenter: "", Peer: peer };
    const id = targetId(full);
    const prev = this.loadedTargets.get(id);
    if (prev) return prev;
    const sni = peer === "" ? targetSni(full, this.r.trustDomain) : "";
    const t: DiscoveryTarget = {
      ID: id,
      ...full,
      MeshGateway: { Mode: "" },
      Subset: {},
      TransparentProxy: { DialedDirectly: false },
      ConnectTimeout: 0,
      External: false,
      SNI: sni,
      Name: sni,
    };
    this.loadedTargets.set(id, t);
    return t;
  }

  private rewriteTarget(t: DiscoveryTarget, opts: Partial<TargetOpts>): DiscoveryTarget {
    const m = { Service: t.Service, ServiceSubset: t.ServiceSubset, Namespace: t.Namespace, Partition: t.Partition, Datacenter: t.Datacenter, Peer: t.Peer };
    if (opts.Service && opts.Service !== m.Service) {
      m.Service = opts.Service;
      m.ServiceSubset = "";
    }
    if (opts.ServiceSubset) m.ServiceSubset = opts.ServiceSubset;
    if (opts.Partition) m.Partition = opts.Partition;
    if (opts.Namespace || opts.Peer) m.Namespace = opts.Namespace ?? "";
    if (opts.Datacenter) m.Datacenter = opts.Datacenter;
    m.Peer = opts.Peer ?? "";
    return this.newTarget(m);
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
      const res = this.resolverNode(this.newTarget({ Service: svc, ServiceSubset: subset, Namespace: splitNs, Partition: splitAp }), false);
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
        const next = this.rewriteTarget(target, {
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
        target = this.rewriteTarget(target, { ServiceSubset: defaultSubset });
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

    const sd = this.lookup.get("service-defaults", target.Service);
    const externalSni = s(sd, "ExternalSNI");
    if (externalSni !== "") {
      target.SNI = externalSni;
      target.External = true;
      const why = o(resolver, "Redirect") ? "redirects" : Object.keys(subsets).length > 0 ? "subsets" : Object.keys(o(resolver, "Failover") ?? {}).length > 0 ? "failover" : "";
      if (why !== "") throw new GraphError(`service ${JSON.stringify(target.Service)} has an external SNI set; cannot define ${why} for external services`);
      target.MeshGateway = { Mode: "" };
    } else {
      const pd = this.lookup.get(PROXY_DEFAULTS, "global");
      if (sd) {
        target.MeshGateway = { Mode: s(o(sd, "MeshGateway"), "Mode") };
        target.TransparentProxy = { DialedDirectly: o(sd, "TransparentProxy")?.DialedDirectly === true };
      }
      if (pd) {
        if (target.MeshGateway.Mode === "") target.MeshGateway = { Mode: s(o(pd, "MeshGateway"), "Mode") };
        if (!target.TransparentProxy.DialedDirectly) target.TransparentProxy = { DialedDirectly: o(pd, "TransparentProxy")?.DialedDirectly === true };
      }
      const mgw = this.r.overrideMeshGatewayMode ?? "";
      if (mgw !== "" && target.MeshGateway.Mode !== mgw) {
        target.MeshGateway = { Mode: mgw };
        this.customized.meshGateway = true;
      }
    }
    this.retainedTargets.add(target.ID);
    if (forFailover) return node;
    this.recordNode(node);

    const failovers = o(resolver, "Failover") ?? {};
    const f = (failovers[target.ServiceSubset] ?? failovers["*"]) as Obj | undefined;
    if (!f) return node;
    const targets: DiscoveryTarget[] = [];
    const add = (t: DiscoveryTarget) => {
      if (t.ID !== target.ID) targets.push(t);
    };
    const base = { Service: s(f, "Service"), ServiceSubset: s(f, "ServiceSubset"), Namespace: s(f, "Namespace") };
    if (strs(f, "Datacenters").length > 0) {
      for (const dc of strs(f, "Datacenters")) add(this.rewriteTarget(target, { ...base, Datacenter: dc }));
    } else if (arr(f, "Targets").length > 0) {
      for (const ft of arr(f, "Targets")) {
        add(this.rewriteTarget(target, {
          Service: s(ft, "Service"),
          ServiceSubset: s(ft, "ServiceSubset"),
          Namespace: s(ft, "Namespace"),
          Partition: s(ft, "Partition"),
          Datacenter: s(ft, "Datacenter"),
          Peer: s(ft, "Peer"),
        }));
      }
    } else {
      add(this.rewriteTarget(target, base));
    }
    if (targets.length === 0) return node;
    const policy = o(f, "Policy");
    const pd = this.lookup.get(PROXY_DEFAULTS, "global");
    const failover = { Targets: [] as string[], Policy: policy && s(policy, "Mode") !== "" ? policy : (o(pd, "FailoverPolicy") ?? null) };
    node.Resolver!.Failover = failover;
    for (const t of targets) failover.Targets.push(this.resolverNode(t, true).Resolver!.Target);
    return node;
  }

  private next(node: GraphNode): string[] {
    if (node.Type === NodeType.Router) return node.Routes!.map((r) => r.NextNode);
    if (node.Type === NodeType.Splitter) return node.Splits!.map((sp) => sp.NextNode);
    return [];
  }

  private detectCircularReferences(): void {
    const path: string[] = [];
    const onPath = new Set<string>();
    const visit = (key: string) => {
      path.push(key);
      if (onPath.has(key)) throw new GraphError(`detected circular reference: [${path.join(" -> ")}]`);
      onPath.add(key);
      for (const next of this.next(this.nodes.get(key)!)) visit(next);
      onPath.delete(key);
      path.pop();
    };
    visit(this.startNode);
  }

  private flattenAdjacentSplitters(): void {
    for (let changed = true; changed; ) {
      changed = false;
      for (const node of this.nodes.values()) {
        if (node.Type !== NodeType.Splitter) continue;
        const fixed: DiscoverySplit[] = [];
        let here = false;
        for (const split of node.Splits!) {
          const next = this.nodes.get(split.NextNode)!;
          if (next.Type !== NodeType.Splitter) {
            fixed.push(split);
            continue;
          }
          here = true;
          for (const inner of next.Splits!) {
            fixed.push({ Definition: mergeSplitParent(inner.Definition, split.Definition), Weight: normalizeWeight((split.Weight * inner.Weight) / 100), NextNode: inner.NextNode });
          }
        }
        if (here) {
          node.Splits = fixed;
          changed = true;
        }
      }
    }
  }

  private removeUnusedNodes(): void {
    const seen = new Set<string>();
    const todo = [this.startNode];
    while (todo.length > 0) {
      const key = todo.pop()!;
      if (seen.has(key)) continue;
      seen.add(key);
      const node = this.nodes.get(key);
      if (!node) throw new Error(`compilation references non-retained node ${JSON.stringify(key)}`);
      todo.push(...this.next(node));
    }
    for (const key of [...this.nodes.keys()]) if (!seen.has(key)) this.nodes.delete(key);
  }
}

/** Throws GraphError for a chain Consul would refuse (mixed protocols, routing over tcp, loops, missing subsets). */
export function compileChain(r: CompileRequest): CompiledChain {
  if (r.serviceName === "") throw new Error("serviceName is required");
  if (r.datacenter === "") throw new Error("evaluateInDatacenter is required");
  if (r.trustDomain === "") throw new Error("evaluateInTrustDomain is required");
  return new Compiler(r).compile();
}
