/** The ACL API (`/v1/acl/*`, `/v1/agent/token/*`), as the Go client's `api.ACL`. */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";
import type { ACLLink, ACLNodeIdentity, ACLPolicy, ACLRole, ACLServiceIdentity, ACLToken } from "../structs/acl.ts";

export type { ACLLink, ACLNodeIdentity, ACLPolicy, ACLRole, ACLServiceIdentity, ACLToken };

/** What a token create or update sends (links by ID or Name; `ExpirationTTL` a Go duration). */
export interface ACLTokenInput {
  AccessorID?: string;
  SecretID?: string;
  Description?: string;
  Policies?: Partial<ACLLink>[];
  Roles?: Partial<ACLLink>[];
  ServiceIdentities?: ACLServiceIdentity[];
  NodeIdentities?: ACLNodeIdentity[];
  Local?: boolean;
  ExpirationTTL?: string;
  ExpirationTime?: string;
}

export interface ACLPolicyInput {
  ID?: string;
  Name: string;
  Description?: string;
  Rules?: string;
  Datacenters?: string[];
}

export interface ACLRoleInput {
  ID?: string;
  Name: string;
  Description?: string;
  Policies?: Partial<ACLLink>[];
  ServiceIdentities?: ACLServiceIdentity[];
  NodeIdentities?: ACLNodeIdentity[];
}

export type ACLPolicyListEntry = Omit<ACLPolicy, "Rules">;

export interface TokenListFilter {
  policy?: string;
  role?: string;
  servicename?: string;
  authmethod?: string;
}

export class ACL {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  async bootstrap(w?: WriteOptions): Promise<ACLToken> {
    return (await this.c.write("PUT", "/v1/acl/bootstrap", undefined, w)) as ACLToken;
  }

  async tokenCreate(token: ACLTokenInput, w?: WriteOptions): Promise<ACLToken> {
    return (await this.c.write("PUT", "/v1/acl/token", encodeJson(token), w)) as ACLToken;
  }

  async tokenUpdate(token: ACLTokenInput & { AccessorID: string }, w?: WriteOptions): Promise<ACLToken> {
    return (await this.c.write("PUT", `/v1/acl/token/${token.AccessorID}`, encodeJson(token), w)) as ACLToken;
  }

  async tokenClone(accessorId: string, description: string, w?: WriteOptions): Promise<ACLToken> {
    return (await this.c.write("PUT", `/v1/acl/token/${accessorId}/clone`, encodeJson({ Description: description }), w)) as ACLToken;
  }

  async tokenDelete(accessorId: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", `/v1/acl/token/${accessorId}`, undefined, w);
  }

  tokenRead(accessorId: string, q?: QueryOptions): Promise<[ACLToken, QueryMeta]> {
    return this.c.query(`/v1/acl/token/${accessorId}`, q, (j) => j as ACLToken);
  }

  tokenReadSelf(q?: QueryOptions): Promise<[ACLToken, QueryMeta]> {
    return this.c.query("/v1/acl/token/self", q, (j) => j as ACLToken);
  }

  tokenList(q?: QueryOptions, filter: TokenListFilter = {}): Promise<[ACLToken[], QueryMeta]> {
    const params = Object.entries(filter).filter(([, v]) => v) as [string, string][];
    return this.c.query("/v1/acl/tokens", q, (j) => asArray<ACLToken>(j), params);
  }

  async policyCreate(policy: ACLPolicyInput, w?: WriteOptions): Promise<ACLPolicy> {
    return (await this.c.write("PUT", "/v1/acl/policy", encodeJson(policy), w)) as ACLPolicy;
  }

  async policyUpdate(policy: ACLPolicyInput & { ID: string }, w?: WriteOptions): Promise<ACLPolicy> {
    return (await this.c.write("PUT", `/v1/acl/policy/${policy.ID}`, encodeJson(policy), w)) as ACLPolicy;
  }

  async policyDelete(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", `/v1/acl/policy/${id}`, undefined, w);
  }

  policyRead(id: string, q?: QueryOptions): Promise<[ACLPolicy, QueryMeta]> {
    return this.c.query(`/v1/acl/policy/${id}`, q, (j) => j as ACLPolicy);
  }

  policyReadByName(name: string, q?: QueryOptions): Promise<[ACLPolicy, QueryMeta]> {
    return this.c.query(`/v1/acl/policy/name/${encodeURIComponent(name)}`, q, (j) => j as ACLPolicy);
  }

  policyList(q?: QueryOptions): Promise<[ACLPolicyListEntry[], QueryMeta]> {
    return this.c.query("/v1/acl/policies", q, (j) => asArray<ACLPolicyListEntry>(j));
  }

  async roleCreate(role: ACLRoleInput, w?: WriteOptions): Promise<ACLRole> {
    return (await this.c.write("PUT", "/v1/acl/role", encodeJson(role), w)) as ACLRole;
  }

  async roleUpdate(role: ACLRoleInput & { ID: string }, w?: WriteOptions): Promise<ACLRole> {
    return (await this.c.write("PUT", `/v1/acl/role/${role.ID}`, encodeJson(role), w)) as ACLRole;
  }

  async roleDelete(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", `/v1/acl/role/${id}`, undefined, w);
  }

  roleRead(id: string, q?: QueryOptions): Promise<[ACLRole, QueryMeta]> {
    return this.c.query(`/v1/acl/role/${id}`, q, (j) => j as ACLRole);
  }

  roleReadByName(name: string, q?: QueryOptions): Promise<[ACLRole, QueryMeta]> {
    return this.c.query(`/v1/acl/role/name/${encodeURIComponent(name)}`, q, (j) => j as ACLRole);
  }

  roleList(q?: QueryOptions): Promise<[ACLRole[], QueryMeta]> {
    return this.c.query("/v1/acl/roles", q, (j) => asArray<ACLRole>(j));
  }

  /** `PUT /v1/agent/token/:type`: sets one of the agent's tokens (default, agent, agent_recovery, replication, dns, ...). */
  async setAgentToken(type: string, token: string, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/token/${type}`, encodeJson({ Token: token }), w);
  }
}
