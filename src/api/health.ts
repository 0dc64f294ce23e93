/** Health (`/v1/health`), as the Go client's `api.Health`. */
import type { Client } from "./client.ts";
import type { QueryMeta, QueryOptions } from "./options.ts";
import { asArray, type AgentService, type HealthCheck, type Node } from "./types.ts";

/** One service instance with its node and every check that applies to it. */
export interface ServiceEntry {
  Node: Node;
  Service: AgentService;
  Checks: HealthCheck[];
}

export const HealthState = {
  Any: "any",
  Passing: "passing",
  Warning: "warning",
  Critical: "critical",
  Maintenance: "maintenance",
} as const;
export type HealthState = (typeof HealthState)[keyof typeof HealthState];

export class Health {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** Checks of one node. */
  async node(node: string, q?: QueryOptions): Promise<[HealthCheck[], QueryMeta]> {
    return this.c.query(`/v1/health/node/${node}`, q, (j) => asArray<HealthCheck>(j));
  }

  /** Checks of every instance of a service. */
  async checks(service: string, q?: QueryOptions): Promise<[HealthCheck[], QueryMeta]> {
    return this.c.query(`/v1/health/checks/${service}`, q, (j) => asArray<HealthCheck>(j));
  }

  /** Instances of a service with their checks; `passingOnly` drops any instance with a non-passing check. */
  async service(service: string, tags: string | string[] = [], passingOnly = false, q?: QueryOptions): Promise<[ServiceEntry[], QueryMeta]> {
    return this.entries(`/v1/health/service/${service}`, tags, passingOnly, q);
  }

  /** Connect-capable instances (sidecars and native) of a service. */
  async connect(service: string, tags: string | string[] = [], passingOnly = false, q?: QueryOptions): Promise<[ServiceEntry[], QueryMeta]> {
    return this.entries(`/v1/health/connect/${service}`, tags, passingOnly, q);
  }

  /** Ingress gateways that expose a service. */
  async ingress(service: string, passingOnly = false, q?: QueryOptions): Promise<[ServiceEntry[], QueryMeta]> {
    return this.entries(`/v1/health/ingress/${service}`, [], passingOnly, q);
  }

  /** Every check in a state (`any` for all). */
  async state(state: HealthState, q?: QueryOptions): Promise<[HealthCheck[], QueryMeta]> {
    if (!Object.values(HealthState).includes(state)) throw new RangeError(`Unsupported state: ${String(state)}`);
    return this.c.query(`/v1/health/state/${state}`, q, (j) => asArray<HealthCheck>(j));
  }

  private entries(path: string, tags: string | string[], passingOnly: boolean, q?: QueryOptions): Promise<[ServiceEntry[], QueryMeta]> {
    const params: (readonly [string, string])[] = (typeof tags === "string" ? (tags === "" ? [] : [tags]) : tags).map(
      (t) => ["tag", t] as const,
    );
    if (passingOnly) params.push(["passing", "1"]);
    return this.c.query(path, q, (j) => asArray<ServiceEntry>(j), params);
  }
}
