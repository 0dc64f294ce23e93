/**
 * A server's ACL resolution (Consul's ACLResolver on servers): token secret
 * -> Authorizer, compiled from the state store and cached until any ACL table
 * changes. Also the leader's ACL initialization (built-in policies, the
 * anonymous token, `initial_management`).
 */
import { ALLOW_ALL, ANONYMOUS_TOKEN_ID, Authorizer, ACLNotFoundError, type DefaultPolicy, PolicyAuthorizer, type RuleSet } from "../acl/mod.ts";
import {
  GLOBAL_MANAGEMENT_POLICY_ID,
  GLOBAL_MANAGEMENT_POLICY_NAME,
  GLOBAL_MANAGEMENT_RULES,
  GLOBAL_MANAGEMENT_RULES_TEXT,
  GLOBAL_READ_ONLY_POLICY_ID,
  GLOBAL_READ_ONLY_POLICY_NAME,
  GLOBAL_READ_ONLY_RULES,
  GLOBAL_READ_ONLY_RULES_TEXT,
  nodeIdentityRules,
  serviceIdentityRules,
} from "../acl/identities.ts";
import { aclIndex, aclTokenBySecret, type ACLPolicyBody, type ACLTokenBody, type StateStore } from "../state/mod.ts";
import type { ACLReplicationStatus } from "./acl_replication.ts";
import { RemoteTokens, type Upstream } from "./acl_remote.ts";
import type { RemoteDatacenters } from "./remote.ts";
import { ANONYMOUS_TOKEN_SECRET, type ACLLink, type ACLNodeIdentity, type ACLServiceIdentity, type ACLToken } from "../structs/acl.ts";

export interface AclSettings {
  readonly enabled: boolean;
  readonly defaultPolicy: "allow" | "deny";
  /** `down_policy`: what a client agent does when no server answers (extend-cache, async-cache, allow, deny). */
  readonly downPolicy: "allow" | "deny" | "extend-cache" | "async-cache";
  /** `tokens.initial_management`: made a global-management token by the leader if missing. */
  readonly initialManagement: string;
  /** `token_ttl`: how long a client agent caches a resolved token (ms). */
  readonly tokenTtlMs: number;
  /** `<data_dir>/acl-bootstrap-reset`; "" without a data dir (dev mode). */
  readonly bootstrapResetPath: string;
  /** `primary_datacenter`; "" or this datacenter: this is the primary (a secondary makes no initial management token). */
  readonly primaryDatacenter?: string;
}

export const ACL_DISABLED: AclSettings = { enabled: false, defaultPolicy: "allow", downPolicy: "extend-cache", initialManagement: "", tokenTtlMs: 30_000, bootstrapResetPath: "" };

/** What a client agent needs to build a token's authorizer (Consul's resolved identity and policies). */
export interface ResolvedToken {
  readonly AccessorID: string;
  readonly Rules: RuleSet[];
  /** ms since epoch; 0 for tokens that never expire. */
  readonly ExpiresAt: number;
}

export class ServerAcl {
  readonly settings: AclSettings;
  private readonly state: StateStore;
  private readonly datacenter: string;
  private readonly now: () => number;
  private cache = new Map<string, { authz: Authorizer; expiresAt: number }>();
  /** Whether this datacenter is the primary (authoritative for global tokens); the agent sets it from the federation's claim. */
  isPrimary: () => boolean;
  /** The replication status of a federated secondary's replicator (null: no replication here). */
  replication: (() => ACLReplicationStatus) | null = null;
  private cacheIndex = -1;
  /** A secondary's answers from the primary for tokens it does not hold. */
  private readonly remoteTokens: RemoteTokens;
  private readonly remote: () => RemoteDatacenters | null;

  constructor(state: StateStore, settings: AclSettings, datacenter: string, now: () => number, remote: () => RemoteDatacenters | null = () => null) {
    this.state = state;
    this.settings = settings;
    this.datacenter = datacenter;
    this.now = now;
    this.remote = remote;
    this.remoteTokens = new RemoteTokens(settings, now);
    const primary = settings.primaryDatacenter ?? "";
    this.isPrimary = () => primary === "" || primary === datacenter;
  }

  /** A federated secondary: the primary and the way there (null on the primary or a datacenter alone). */
  private upstream(): Upstream | null {
    if (this.isPrimary()) return null;
    const r = this.remote();
    const dc = r?.primary?.() ?? this.settings.primaryDatacenter ?? "";
    if (!r || dc === "" || dc === this.datacenter) return null;
    return { rpc: r.rpc, datacenter: dc };
  }

  /**
   * null when `authorizer(secret)` can answer now (the token is held here, or
   * this is the primary, or a cached answer from the primary stands); else a
   * promise (never rejecting) that settles once the primary answered or
   * `down_policy` did. Every RPC endpoint awaits it before resolving.
   */
  pending(secret: string | undefined): Promise<void> | null {
    if (!this.settings.enabled || !secret || secret === ANONYMOUS_TOKEN_SECRET) return null;
    if (this.isPrimary() || aclTokenBySecret(this.state.t, secret)) return null;
    const up = this.upstream();
    return up === null ? null : this.remoteTokens.pending(secret, up);
  }

  /** The primary's (or down_policy's) answer for a token this datacenter does not hold. */
  private remoteEntry(key: string) {
    if (aclTokenBySecret(this.state.t, key)) return undefined;
    const e = this.remoteTokens.get(key);
    if (e?.resolved && e.resolved.ExpiresAt !== 0 && e.resolved.ExpiresAt <= this.now()) return undefined;
    return e;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** The authorizer of a token secret ("" is the anonymous token); ACLNotFoundError for an unknown or expired secret. */
  authorizer(secret: string | undefined): Authorizer {
    if (!this.settings.enabled) return ALLOW_ALL;
    const index = aclIndex(this.state.t);
    if (index !== this.cacheIndex) {
      this.cache = new Map();
      this.cacheIndex = index;
    }
    const key = secret || ANONYMOUS_TOKEN_SECRET;
    const hit = this.cache.get(key);
    if (hit && (hit.expiresAt === 0 || hit.expiresAt > this.now())) return hit.authz;
    const remote = this.remoteEntry(key);
    if (remote) return remote.authz;
    const resolved = this.resolve(key);
    const authz = new Authorizer(resolved.AccessorID, resolved.Rules.length > 0 ? new PolicyAuthorizer(resolved.Rules) : null, this.settings.defaultPolicy as DefaultPolicy);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(key, { authz, expiresAt: resolved.ExpiresAt });
    return authz;
  }

  /** A token's identity and the rules of everything it links (policies, roles, identities). */
  resolve(secret: string): ResolvedToken {
    const t = this.state.t;
    const key = secret || ANONYMOUS_TOKEN_SECRET;
    const token = aclTokenBySecret(t, key);
    if (!token) {
      // Before the leader has written the anonymous token, it holds nothing.
      if (key === ANONYMOUS_TOKEN_SECRET) return { AccessorID: ANONYMOUS_TOKEN_ID, Rules: [], ExpiresAt: 0 };
      const remote = this.remoteEntry(key);
      if (remote?.resolved) return remote.resolved;
      // The primary did not answer: the asking client agent follows its own down_policy.
      if (remote) throw new Error(`Error communicating with the ACL Datacenter: no answer for the token`);
      throw new ACLNotFoundError();
    }
    const expiresAt = token.ExpirationTime ? Date.parse(token.ExpirationTime) : 0;
    if (expiresAt !== 0 && expiresAt <= this.now()) throw new ACLNotFoundError();
    return { AccessorID: token.AccessorID, Rules: this.rulesOf(token), ExpiresAt: expiresAt };
  }

  private rulesOf(token: ACLToken): RuleSet[] {
    const t = this.state.t;
    const rules: RuleSet[] = [];
    const addPolicies = (links: readonly ACLLink[]): void => {
      for (const l of links) {
        const p = t.aclPolicies.get(l.ID);
        if (p && (p.Datacenters.length === 0 || p.Datacenters.includes(this.datacenter))) rules.push(p.Parsed);
      }
    };
    const addIdentities = (services: readonly ACLServiceIdentity[], nodes: readonly ACLNodeIdentity[]): void => {
      for (const s of services) if (!s.Datacenters?.length || s.Datacenters.includes(this.datacenter)) rules.push(serviceIdentityRules(s.ServiceName));
      for (const n of nodes) if (n.Datacenter === this.datacenter) rules.push(nodeIdentityRules(n.NodeName));
    };
    addPolicies(token.Policies);
    addIdentities(token.ServiceIdentities, token.NodeIdentities);
    for (const l of token.Roles) {
      const role = t.aclRoles.get(l.ID);
      if (!role) continue;
      addPolicies(role.Policies);
      addIdentities(role.ServiceIdentities, role.NodeIdentities);
    }
    return rules;
  }
}

/** The built-in policies the leader makes (Consul's global-management and builtin/global-read-only). */
export function builtinPolicies(now: number): ACLPolicyBody[] {
  const base = { Datacenters: [], Hash: "" };
  void now;
  return [
    { ...base, ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: GLOBAL_MANAGEMENT_POLICY_NAME, Description: "Builtin Policy that grants unlimited access", Rules: GLOBAL_MANAGEMENT_RULES_TEXT, Parsed: GLOBAL_MANAGEMENT_RULES },
    { ...base, ID: GLOBAL_READ_ONLY_POLICY_ID, Name: GLOBAL_READ_ONLY_POLICY_NAME, Description: "Builtin Policy that grants unlimited read-only access to all components", Rules: GLOBAL_READ_ONLY_RULES_TEXT, Parsed: GLOBAL_READ_ONLY_RULES },
  ];
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, "Z");
}

/** A token body with Consul's defaults for the fields the caller left out. */
export function tokenBody(fields: Partial<ACLTokenBody> & { AccessorID: string; SecretID: string }, now: number): ACLTokenBody {
  return {
    Description: "",
    Policies: [],
    Roles: [],
    ServiceIdentities: [],
    NodeIdentities: [],
    Local: false,
    CreateTime: rfc3339(now),
    Hash: "",
    ...fields,
  };
}

/** The anonymous token and, when configured, the initial management token. */
export function builtinTokens(settings: AclSettings, now: number, primary: boolean): ACLTokenBody[] {
  const tokens = [tokenBody({ AccessorID: ANONYMOUS_TOKEN_ID, SecretID: ANONYMOUS_TOKEN_SECRET, Description: "Anonymous Token" }, now)];
  // Consul makes it in the primary only; secondaries receive it by token replication.
  if (settings.initialManagement !== "" && primary) {
    tokens.push(
      tokenBody(
        {
          AccessorID: crypto.randomUUID(),
          SecretID: settings.initialManagement,
          Description: "Initial Management Token",
          Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: GLOBAL_MANAGEMENT_POLICY_NAME }],
        },
        now,
      ),
    );
  }
  return tokens;
}
