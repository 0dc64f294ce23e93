/** ACL objects on the wire (Consul's agent/structs/acl.go and api/acl.go field names). */
import type { RuleSet } from "../acl/rules.ts";

export interface ACLLink {
  readonly ID: string;
  readonly Name: string;
}

export interface ACLServiceIdentity {
  readonly ServiceName: string;
  readonly Datacenters?: string[];
}

export interface ACLNodeIdentity {
  readonly NodeName: string;
  readonly Datacenter: string;
}

export interface ACLToken {
  readonly AccessorID: string;
  readonly SecretID: string;
  readonly Description: string;
  readonly Policies: ACLLink[];
  readonly Roles: ACLLink[];
  readonly ServiceIdentities: ACLServiceIdentity[];
  readonly NodeIdentities: ACLNodeIdentity[];
  readonly Local: boolean;
  readonly AuthMethod?: string;
  /** RFC 3339; absent for tokens that never expire. */
  readonly ExpirationTime?: string;
  readonly CreateTime: string;
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export interface ACLPolicy {
  readonly ID: string;
  readonly Name: string;
  readonly Description: string;
  readonly Rules: string;
  readonly Datacenters: string[];
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** A stored policy: the wire fields plus its parsed rules (made once by the writer, so every server compiles the same). */
export interface ACLPolicyRow extends ACLPolicy {
  readonly Parsed: RuleSet;
}

export interface ACLRole {
  readonly ID: string;
  readonly Name: string;
  readonly Description: string;
  readonly Policies: ACLLink[];
  readonly ServiceIdentities: ACLServiceIdentity[];
  readonly NodeIdentities: ACLNodeIdentity[];
  readonly Hash: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export const ANONYMOUS_TOKEN_SECRET = "anonymous";

/** An auth method (Consul's ACLAuthMethod); `MaxTokenTTL` travels as a Go duration string ("5m0s"), "" for none. */
export interface ACLAuthMethod {
  readonly Name: string;
  readonly Type: string;
  readonly DisplayName: string;
  readonly Description: string;
  readonly MaxTokenTTL: string;
  /** "local" (the default, also written as "") or "global". */
  readonly TokenLocality: string;
  readonly Config: Record<string, unknown>;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

export const BIND_TYPES = ["service", "node", "role", "policy"] as const;
export type BindType = (typeof BIND_TYPES)[number];

/** A binding rule (Consul's ACLBindingRule). */
export interface ACLBindingRule {
  readonly ID: string;
  readonly Description: string;
  readonly AuthMethod: string;
  readonly Selector: string;
  readonly BindType: BindType;
  readonly BindName: string;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}
