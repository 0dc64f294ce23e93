/** The ACL API (`/v1/acl/*`, `/v1/agent/token/*`), as the Go client's `api.ACL`. */
import type { Client } from "./client.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";
import type { ACLAuthMethod, ACLBindingRule, ACLLink, ACLNodeIdentity, ACLPolicy, ACLRole, ACLServiceIdentity, ACLToken } from "../structs/acl.ts";

export type { ACLAuthMethod, ACLBindingRule, ACLLink, ACLNodeIdentity, ACLPolicy, ACLRole, ACLServiceIdentity, ACLToken };

export type ACLAuthMethodListEntry = Omit<ACLAuthMethod, "Config">;

export interface ACLAuthMethodInput {
  Name: string;
  Type?: string;
  DisplayName?: string;
  Description?: string;
  /** A Go duration ("10m"). */
  MaxTokenTTL?: string;
  TokenLocality?: string;
  Config?: Record<string, unknown>;
}

export interface ACLBindingRuleInput {
  ID?: string;
  Description?: string;
  AuthMethod?: string;
  Selector?: string;
  BindType?: string;
  BindName?: string;
}

export interface ACLLoginParams {
  AuthMethod: string;
  BearerToken: string;
  Meta?: Record<string, string>;
}

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

  authMethodCreate(m: ACLAuthMethodInput, w?: WriteOptions): Promise<ACLAuthMethod> {
    return this.c.write("PUT", "/v1/acl/auth-method", encodeJson(m), w) as Promise<ACLAuthMethod>;
  }

  authMethodUpdate(m: ACLAuthMethodInput, w?: WriteOptions): Promise<ACLAuthMethod> {
    return this.c.write("PUT", `/v1/acl/auth-method/${encodeURIComponent(m.Name)}`, encodeJson(m), w) as Promise<ACLAuthMethod>;
  }

  async authMethodDelete(name: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", `/v1/acl/auth-method/${encodeURIComponent(name)}`, undefined, w);
  }

  authMethodRead(name: string, q?: QueryOptions): Promise<[ACLAuthMethod, QueryMeta]> {
    return this.c.query(`/v1/acl/auth-method/${encodeURIComponent(name)}`, q, (j) => j as ACLAuthMethod);
  }

  authMethodList(q?: QueryOptions): Promise<[ACLAuthMethodListEntry[], QueryMeta]> {
    return this.c.query("/v1/acl/auth-methods", q, (j) => asArray<ACLAuthMethodListEntry>(j));
  }

  bindingRuleCreate(r: ACLBindingRuleInput, w?: WriteOptions): Promise<ACLBindingRule> {
    return this.c.write("PUT", "/v1/acl/binding-rule", encodeJson(r), w) as Promise<ACLBindingRule>;
  }

  bindingRuleUpdate(r: ACLBindingRuleInput & { ID: string }, w?: WriteOptions): Promise<ACLBindingRule> {
    return this.c.write("PUT", `/v1/acl/binding-rule/${r.ID}`, encodeJson(r), w) as Promise<ACLBindingRule>;
  }

  async bindingRuleDelete(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("DELETE", `/v1/acl/binding-rule/${id}`, undefined, w);
  }

  bindingRuleRead(id: string, q?: QueryOptions): Promise<[ACLBindingRule, QueryMeta]> {
    return this.c.query(`/v1/acl/binding-rule/${id}`, q, (j) => j as ACLBindingRule);
  }

  bindingRuleList(authMethod: string, q?: QueryOptions): Promise<[ACLBindingRule[], QueryMeta]> {
    return this.c.query("/v1/acl/binding-rules", q, (j) => asArray<ACLBindingRule>(j), authMethod !== "" ? [["authmethod", authMethod]] : undefined);
  }

  /** `POST /v1/acl/login`: a bearer token exchanged for a Consul token. */
  login(params: ACLLoginParams, w?: WriteOptions): Promise<ACLToken> {
    return this.c.write("POST", "/v1/acl/login", encodeJson(params), w) as Promise<ACLToken>;
  }

  /** `POST /v1/acl/logout`: deletes the token in `w.token` (or the client's), if login made it. */
  async logout(w?: WriteOptions): Promise<void> {
    await this.c.write("POST", "/v1/acl/logout", undefined, w);
  }

  /** `PUT /v1/agent/token/:type`: sets one of the agent's tokens (default, agent, agent_recovery, replication, dns, ...). */
  async setAgentToken(type: string, token: string, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/agent/token/${type}`, encodeJson({ Token: token }), w);
  }
}
