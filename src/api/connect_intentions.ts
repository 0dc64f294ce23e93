/**
 * Intentions (`/v1/connect/intentions`), as the Go client's `api.Connect`
 * intention methods, plus the agent's authorize call.
 */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";

export interface IntentionHTTPHeaderPermission {
  Name: string;
  Present?: boolean;
  Exact?: string;
  Prefix?: string;
  Suffix?: string;
  Regex?: string;
  Invert?: boolean;
}

export interface IntentionPermission {
  Action: "allow" | "deny";
  HTTP?: {
    PathExact?: string;
    PathPrefix?: string;
    PathRegex?: string;
    Header?: IntentionHTTPHeaderPermission[];
    Methods?: string[];
  };
}

export interface Intention {
  ID?: string;
  Description?: string;
  SourceNS?: string;
  SourceName: string;
  DestinationNS?: string;
  DestinationName: string;
  SourcePeer?: string;
  SourcePartition?: string;
  DestinationPartition?: string;
  SourceType?: string;
  Action?: "allow" | "deny";
  Permissions?: IntentionPermission[];
  Meta?: Record<string, string>;
  Precedence?: number;
  CreatedAt?: string;
  UpdatedAt?: string;
  CreateIndex?: number;
  ModifyIndex?: number;
}

export type IntentionMatchType = "source" | "destination";

export interface AgentAuthorizeParams {
  Target: string;
  ClientCertURI: string;
  ClientCertSerial?: string;
}

export interface AgentAuthorize {
  Authorized: boolean;
  Reason: string;
}

/** "ns/name" when the namespace is not the default (Go's Intention.SourceString). */
export function intentionPart(ns: string | undefined, name: string): string {
  return ns && ns !== "default" ? `${ns}/${name}` : name;
}

export class ConnectIntentions {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  async list(q?: QueryOptions): Promise<[Intention[], QueryMeta]> {
    return this.c.query("/v1/connect/intentions", q, (j) => asArray<Intention>(j));
  }

  /** By legacy ID; null when there is none. */
  async get(id: string, q?: QueryOptions): Promise<[Intention | null, QueryMeta | null]> {
    return this.getOrNull(`/v1/connect/intentions/${id}`, q);
  }

  /** By source and destination name; null when there is none. */
  async getExact(source: string, destination: string, q?: QueryOptions): Promise<[Intention | null, QueryMeta | null]> {
    return this.getOrNull("/v1/connect/intentions/exact", q, [
      ["source", source],
      ["destination", destination],
    ]);
  }

  private async getOrNull(path: string, q?: QueryOptions, params?: [string, string][]): Promise<[Intention | null, QueryMeta | null]> {
    try {
      return await this.c.query(path, q, (j) => j as Intention, params);
    } catch (err) {
      if (err instanceof Error && "status" in err && (err as { status: number }).status === 404) return [null, null];
      throw err;
    }
  }

  /** Legacy create; returns the new intention's ID. */
  async create(ixn: Intention, w?: WriteOptions): Promise<string> {
    const out = (await this.c.write("POST", "/v1/connect/intentions", encodeJson(ixn), w)) as { ID: string };
    return out.ID;
  }

  /** Legacy update by `ixn.ID`. */
  async update(ixn: Intention & { ID: string }, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/connect/intentions/${ixn.ID}`, encodeJson(ixn), w);
  }

  /** Legacy delete by ID. */
  async delete(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", `/v1/connect/intentions/${id}`, undefined, w);
  }

  /** Creates or replaces the intention named by its source and destination (Consul 1.9+). */
  async upsert(ixn: Intention, w?: WriteOptions): Promise<void> {
    const body: Record<string, unknown> = { SourceType: ixn.SourceType ?? "consul" };
    if (ixn.Action) body.Action = ixn.Action;
    if (ixn.Permissions) body.Permissions = ixn.Permissions;
    if (ixn.Description) body.Description = ixn.Description;
    if (ixn.Meta) body.Meta = ixn.Meta;
    await this.c.write("PUT", "/v1/connect/intentions/exact", encodeJson(body), w, [
      ["source", intentionPart(ixn.SourceNS, ixn.SourceName)],
      ["destination", intentionPart(ixn.DestinationNS, ixn.DestinationName)],
    ]);
  }

  async deleteExact(source: string, destination: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", "/v1/connect/intentions/exact", undefined, w, [
      ["source", source],
      ["destination", destination],
    ]);
  }

  /** For each name, the intentions matching it, highest precedence first. */
  async match(by: IntentionMatchType, names: string[], q?: QueryOptions): Promise<[Record<string, Intention[]>, QueryMeta]> {
    return this.c.query(
      "/v1/connect/intentions/match",
      q,
      (j) => (j ?? {}) as Record<string, Intention[]>,
      [["by", by], ...names.map((n) => ["name", n] as [string, string])],
    );
  }

  /** Whether a connection from source to destination would be allowed. */
  async check(source: string, destination: string, q?: QueryOptions): Promise<[boolean, QueryMeta]> {
    return this.c.query("/v1/connect/intentions/check", q, (j) => (j as { Allowed: boolean }).Allowed === true, [
      ["source", source],
      ["destination", destination],
    ]);
  }

  /** POST /v1/agent/connect/authorize: may a client with this certificate URI connect to `Target`? */
  async authorize(params: AgentAuthorizeParams, w?: WriteOptions): Promise<AgentAuthorize> {
    return (await this.c.write("POST", "/v1/agent/connect/authorize", encodeJson(params), w)) as AgentAuthorize;
  }
}
