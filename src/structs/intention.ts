/**
 * Intention wire types with Consul's JSON field names (agent/structs/intention.go
 * and config_entry_intentions.go). Since Consul 1.9 an intention is a view of
 * one source of a `service-intentions` config entry.
 */

export const IntentionAction = { Allow: "allow", Deny: "deny" } as const;
export type IntentionAction = (typeof IntentionAction)[keyof typeof IntentionAction];

/** The only source type Consul knows. */
export const IntentionSourceConsul = "consul";

/** The wildcard a name or namespace may be (only whole values). */
export const WILDCARD = "*";
export const DEFAULT_NAMESPACE = "default";
export const DEFAULT_PARTITION = "default";

/** One header condition of an L7 permission; exactly one matcher is set. */
export interface IntentionHTTPHeaderPermission {
  Name: string;
  Present?: boolean;
  Exact?: string;
  Prefix?: string;
  Suffix?: string;
  Regex?: string;
  Invert?: boolean;
}

/** What an HTTP request must look like for a permission to apply (all given parts must match). */
export interface IntentionHTTPPermission {
  PathExact?: string;
  PathPrefix?: string;
  PathRegex?: string;
  Header?: IntentionHTTPHeaderPermission[];
  Methods?: string[];
}

export interface IntentionJWTClaimVerification {
  Path?: string[];
  Value?: string;
}

export interface IntentionJWTProvider {
  Name?: string;
  VerifyClaims?: IntentionJWTClaimVerification[];
}

export interface IntentionJWTRequirement {
  Providers?: IntentionJWTProvider[];
}

/** An L7 rule of an intention: the first permission that matches a request decides it. */
export interface IntentionPermission {
  Action: IntentionAction;
  HTTP?: IntentionHTTPPermission;
  JWT?: IntentionJWTRequirement;
}

/** The flattened intention the `/v1/connect/intentions` endpoints speak. */
export interface Intention {
  /** Only intentions made through the legacy ID API have one. */
  ID?: string;
  Description?: string;
  SourcePeer?: string;
  SourceSamenessGroup?: string;
  SourceNS: string;
  SourceName: string;
  DestinationNS: string;
  DestinationName: string;
  SourcePartition?: string;
  DestinationPartition?: string;
  SourceType: string;
  /** L4 action; absent when Permissions (L7) are given. */
  Action?: IntentionAction;
  Permissions?: IntentionPermission[];
  JWT?: IntentionJWTRequirement;
  Meta?: Record<string, string>;
  Precedence: number;
  /** RFC 3339 times, only on legacy (ID) intentions. */
  CreatedAt?: string;
  UpdatedAt?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** One source of a `service-intentions` config entry. */
export interface SourceIntention {
  Name: string;
  Action?: IntentionAction;
  Permissions?: IntentionPermission[];
  Precedence: number;
  LegacyID?: string;
  Type: string;
  Description?: string;
  LegacyMeta?: Record<string, string>;
  LegacyCreateTime?: string;
  LegacyUpdateTime?: string;
  Namespace?: string;
  Partition?: string;
  Peer?: string;
  SamenessGroup?: string;
}
