/** The compiled discovery chain (`/v1/discovery-chain/:service`), as the Go client's `api.DiscoveryChain`. */
import type { Client } from "./client.ts";
import { parseQueryMeta, type QueryMeta, type QueryOptions } from "./options.ts";

/** Go's `api.DiscoveryChainOptions`. */
export interface DiscoveryChainOptions {
  /** Sent as `?compile-dc`. */
  readonly evaluateInDatacenter?: string;
  readonly overrideMeshGateway?: { readonly Mode: string };
  readonly overrideProtocol?: string;
  /** A Go duration ("250ms") or nanoseconds. */
  readonly overrideConnectTimeout?: string | number;
}

/** The chain as the agent writes it (CompiledDiscoveryChain); nodes and targets are keyed by their opaque names. */
export interface CompiledDiscoveryChainWire {
  ServiceName: string;
  Namespace: string;
  Partition?: string;
  Datacenter: string;
  CustomizationHash?: string;
  Default?: boolean;
  Protocol?: string;
  ServiceMeta?: Record<string, string>;
  StartNode?: string;
  Nodes?: Record<string, DiscoveryGraphNodeWire>;
  Targets?: Record<string, DiscoveryTargetWire>;
}

export interface DiscoveryGraphNodeWire {
  Type: "router" | "splitter" | "resolver";
  Name: string;
  Routes?: { Definition: Record<string, unknown>; NextNode: string }[];
  Splits?: { Definition: Record<string, unknown>; Weight?: number; NextNode: string }[];
  Resolver?: { ConnectTimeout?: string; Default?: boolean; RequestTimeout?: number; Target: string; Failover?: { Targets?: string[] } };
  LoadBalancer?: Record<string, unknown>;
}

export interface DiscoveryTargetWire {
  ConnectTimeout?: string;
  ID: string;
  Service: string;
  ServiceSubset?: string;
  Namespace?: string;
  Partition?: string;
  Datacenter?: string;
  MeshGateway?: { Mode?: string };
  Subset?: { Filter?: string; OnlyPassing?: boolean };
  External?: boolean;
  SNI?: string;
  Name?: string;
}

export class DiscoveryChain {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** GET, or POST when an override is given (as the Go client decides). */
  async get(name: string, opts?: DiscoveryChainOptions, q?: QueryOptions): Promise<[CompiledDiscoveryChainWire, QueryMeta]> {
    if (name === "") throw new TypeError("Name parameter must not be empty");
    const body: Record<string, unknown> = {};
    if (opts?.overrideMeshGateway?.Mode) body.OverrideMeshGateway = opts.overrideMeshGateway;
    if (opts?.overrideProtocol) body.OverrideProtocol = opts.overrideProtocol;
    if (opts?.overrideConnectTimeout) body.OverrideConnectTimeout = opts.overrideConnectTimeout;
    const post = Object.keys(body).length > 0;
    const request = {
      method: post ? ("POST" as const) : ("GET" as const),
      path: `/v1/discovery-chain/${name}`,
      query: q ?? {},
      ...(post ? { body: JSON.stringify(body) } : {}),
      ...(opts?.evaluateInDatacenter ? { params: [["compile-dc", opts.evaluateInDatacenter]] as const } : {}),
    };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    const out = this.c.decode(request, response) as { Chain: CompiledDiscoveryChainWire };
    return [out.Chain, parseQueryMeta(response.headers, response.requestTime)];
  }
}
