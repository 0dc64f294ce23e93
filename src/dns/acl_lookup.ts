/**
 * DNS under ACLs: the agent's `dns` token (else its default token) decides
 * what DNS may reveal; services and nodes it cannot read answer as missing,
 * as in Consul. A decorator over any DnsLookup.
 */
import type { Authorizer } from "../acl/mod.ts";
import type { DnsLookup, PreparedQueryResult, ServiceInstance } from "./lookup.ts";
import type { Node } from "../structs/catalog.ts";

/** Versions of the inner lookup stay below this; each new authorizer moves the version past it. */
const AUTHZ_STEP = 1e12;

export class AclDnsLookup implements DnsLookup {
  private readonly inner: DnsLookup;
  private readonly authorizer: () => Authorizer;
  private last: Authorizer | null = null;
  private generation = 0;

  /** `authorizer`: the dns token's authorizer now (a deny-all one when the token does not resolve). */
  constructor(inner: DnsLookup, authorizer: () => Authorizer) {
    this.inner = inner;
    this.authorizer = authorizer;
  }

  private authz(): Authorizer {
    const a = this.authorizer();
    if (a !== this.last) {
      this.last = a;
      this.generation++;
    }
    return a;
  }

  private instances(list: readonly ServiceInstance[]): readonly ServiceInstance[] {
    const a = this.authz();
    return list.filter((i) => a.allowed("service", "read", i.service.Service) && a.allowed("node", "read", i.node.Node));
  }

  version(): number {
    const v = this.inner.version ? this.inner.version() : Number.NaN;
    this.authz();
    return v + this.generation * AUTHZ_STEP;
  }

  knowsDatacenter(dc: string): boolean {
    return this.inner.knowsDatacenter(dc);
  }

  serviceInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.instances(this.inner.serviceInstances(dc, service));
  }

  connectInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.instances(this.inner.connectInstances(dc, service));
  }

  ingressInstances(dc: string, service: string): readonly ServiceInstance[] {
    return this.instances(this.inner.ingressInstances(dc, service));
  }

  virtualIp(dc: string, service: string): string | null {
    return this.authz().allowed("service", "read", service) ? this.inner.virtualIp(dc, service) : null;
  }

  node(dc: string, name: string): Node | null {
    const n = this.inner.node(dc, name);
    return n && this.authz().allowed("node", "read", n.Node) ? n : null;
  }

  nodes(dc: string): readonly Node[] {
    const a = this.authz();
    return this.inner.nodes(dc).filter((n) => a.allowed("node", "read", n.Node));
  }

  instancesByAddress(dc: string, address: string): readonly ServiceInstance[] {
    return this.instances(this.inner.instancesByAddress(dc, address));
  }

  servers(dc: string): readonly ServiceInstance[] {
    return this.inner.servers(dc);
  }

  preparedQuery(dc: string, nameOrId: string, sourceIp: string): PreparedQueryResult | null {
    const r = this.inner.preparedQuery(dc, nameOrId, sourceIp);
    if (!r || !this.authz().allowed("query", "read", nameOrId)) return null;
    return { ...r, instances: this.instances(r.instances) };
  }
}
