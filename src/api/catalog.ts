/** The catalog (`/v1/catalog`), as the Go client's `api.Catalog`. */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray, type AgentService, type HealthCheck, type Node, type ServiceAddress, type Weights } from "./types.ts";

/** One instance of a service as `/v1/catalog/service/:name` reports it. */
export interface CatalogService {
  ID: string;
  Node: string;
  Address: string;
  Datacenter: string;
  TaggedAddresses: Record<string, string> | null;
  NodeMeta: Record<string, string> | null;
  ServiceKind?: string;
  ServiceID: string;
  ServiceName: string;
  ServiceAddress: string;
  ServiceTaggedAddresses?: Record<string, ServiceAddress>;
  ServiceTags: string[] | null;
  ServiceMeta: Record<string, string> | null;
  ServicePort: number;
  ServiceSocketPath?: string;
  ServiceWeights: Weights;
  ServiceEnableTagOverride: boolean;
  ServiceProxy?: Record<string, unknown>;
  ServiceConnect?: Record<string, unknown>;
  PeerName?: string;
  Namespace?: string;
  Partition?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

export interface CatalogNode {
  Node: Node;
  Services: Record<string, AgentService>;
}

export interface CatalogNodeServiceList {
  Node: Node;
  Services: AgentService[];
}

export interface CatalogRegistration {
  ID?: string;
  Node: string;
  Address: string;
  TaggedAddresses?: Record<string, string>;
  NodeMeta?: Record<string, string>;
  Datacenter?: string;
  Service?: Partial<AgentService> & { Service: string };
  Check?: Partial<HealthCheck>;
  Checks?: Partial<HealthCheck>[];
  SkipNodeUpdate?: boolean;
}

export interface CatalogDeregistration {
  Node: string;
  Datacenter?: string;
  ServiceID?: string;
  CheckID?: string;
}

export class Catalog {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  async register(reg: CatalogRegistration, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", "/v1/catalog/register", encodeJson(reg), w);
  }

  async deregister(dereg: CatalogDeregistration, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", "/v1/catalog/deregister", encodeJson(dereg), w);
  }

  /** Known datacenters, nearest first. */
  async datacenters(): Promise<string[]> {
    const [dcs] = await this.c.query("/v1/catalog/datacenters", undefined, (j) => asArray<unknown>(j).map(String));
    return dcs;
  }

  async nodes(q?: QueryOptions): Promise<[Node[], QueryMeta]> {
    return this.c.query("/v1/catalog/nodes", q, (j) => asArray<Node>(j));
  }

  /** Service names mapped to their tags. */
  async services(q?: QueryOptions): Promise<[Record<string, string[]>, QueryMeta]> {
    return this.c.query("/v1/catalog/services", q, (j) => (j ?? {}) as Record<string, string[]>);
  }

  /** Instances of a service, optionally with all of `tags`. */
  async service(service: string, tags: string | string[] = [], q?: QueryOptions): Promise<[CatalogService[], QueryMeta]> {
    return this.serviceInternal(`/v1/catalog/service/${service}`, tags, q);
  }

  /** Connect-capable instances (proxies and native) of a service. */
  async connect(service: string, tags: string | string[] = [], q?: QueryOptions): Promise<[CatalogService[], QueryMeta]> {
    return this.serviceInternal(`/v1/catalog/connect/${service}`, tags, q);
  }

  /** A node and its services; `null` when the node is unknown. */
  async node(node: string, q?: QueryOptions): Promise<[CatalogNode | null, QueryMeta]> {
    return this.c.query(`/v1/catalog/node/${node}`, q, (j) => (j ?? null) as CatalogNode | null);
  }

  async nodeServiceList(node: string, q?: QueryOptions): Promise<[CatalogNodeServiceList | null, QueryMeta]> {
    return this.c.query(`/v1/catalog/node-services/${node}`, q, (j) => (j ?? null) as CatalogNodeServiceList | null);
  }

  private serviceInternal(path: string, tags: string | string[], q?: QueryOptions): Promise<[CatalogService[], QueryMeta]> {
    const list = typeof tags === "string" ? (tags === "" ? [] : [tags]) : tags;
    return this.c.query(
      path,
      q,
      (j) => asArray<CatalogService>(j),
      list.map((t) => ["tag", t] as const),
    );
  }
}
