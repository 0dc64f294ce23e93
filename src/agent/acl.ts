/**
 * The agent's side of ACLs (Consul's agent ACL resolver and token store): its
 * `acl` settings, its tokens (default, agent, agent_recovery, dns, ...), and
 * token secret -> Authorizer. A server agent resolves in-process; a client
 * agent asks a server (ACL.ResolveToken) and caches the answer for
 * `token_ttl`, following `down_policy` when no server answers.
 */
import { ACLNotFoundError, ALLOW_ALL, Authorizer, PolicyAuthorizer } from "../acl/mod.ts";
import type { MaybePromise, Rpc } from "../rpc/mod.ts";
import { RemoteTokens } from "../server/acl_remote.ts";
import type { Server } from "../server/mod.ts";
import { loadPersistedTokens, savePersistedTokens } from "./acl_tokens_file.ts";

export const TOKEN_NAMES = ["default", "agent", "agent_recovery", "dns", "replication", "config_file_service_registration", "initial_management"] as const;
export type TokenName = (typeof TOKEN_NAMES)[number];

export interface AgentAclSettings {
  readonly enabled: boolean;
  readonly defaultPolicy: "allow" | "deny";
  readonly downPolicy: "allow" | "deny" | "extend-cache" | "async-cache";
  readonly tokenTtlMs: number;
  readonly enableTokenPersistence: boolean;
  /** `enable_token_replication`: a secondary's servers replicate global tokens (not only policies and roles). */
  readonly enableTokenReplication?: boolean;
  readonly tokens: Partial<Record<TokenName, string>>;
}

export const AGENT_ACL_DISABLED: AgentAclSettings = {
  enabled: false,
  defaultPolicy: "allow",
  downPolicy: "extend-cache",
  tokenTtlMs: 30_000,
  enableTokenPersistence: false,
  tokens: {},
};

/** How secrets are turned into authorizers: in-process on a server, by RPC on a client. */
export type ResolveFn = (secret: string) => MaybePromise<Authorizer>;

export class AgentAcl {
  readonly settings: AgentAclSettings;
  private readonly tokens: Map<TokenName, string>;
  private readonly resolveFn: ResolveFn;
  private readonly nodeName: string;
  /** `<data_dir>/acl-tokens.json` with `enable_token_persistence`, else null. */
  private readonly persistFile: string | null;
  /** Tokens set through the API (the ones persisted). */
  private readonly fromApi = new Map<TokenName, string>();

  constructor(settings: AgentAclSettings, resolve: ResolveFn, nodeName: string, persistFile: string | null = null) {
    this.settings = settings;
    this.resolveFn = resolve;
    this.nodeName = nodeName;
    this.persistFile = settings.enableTokenPersistence ? persistFile : null;
    this.tokens = new Map(Object.entries(settings.tokens).filter(([, v]) => v) as [TokenName, string][]);
  }

  /**
   * Loads the persisted tokens over the configured ones (Consul: the persisted
   * token wins); answers the names both set, for a warning. A no-op without persistence.
   */
  async loadPersisted(): Promise<TokenName[]> {
    if (this.persistFile === null) return [];
    const saved = await loadPersistedTokens(this.persistFile);
    const both: TokenName[] = [];
    for (const [name, secret] of Object.entries(saved) as [TokenName, string][]) {
      if (this.settings.tokens[name]) both.push(name);
      this.tokens.set(name, secret);
      this.fromApi.set(name, secret);
    }
    return both;
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  token(name: TokenName): string {
    return this.tokens.get(name) ?? "";
  }

  /** `PUT /v1/agent/token/:type` and `acl set-agent-token`; persisted first with `enable_token_persistence` (nothing changes if that fails). */
  async setToken(name: TokenName, secret: string): Promise<void> {
    if (this.persistFile !== null) {
      const next = { ...Object.fromEntries(this.fromApi), [name]: secret };
      try {
        await savePersistedTokens(this.persistFile, next);
      } catch (err) {
        throw new Error(`Failed to persist tokens - ${(err as Error).message}`, { cause: err });
      }
    }
    this.tokens.set(name, secret);
    this.fromApi.set(name, secret);
  }

  /** The token a request without one acts with. */
  get defaultToken(): string {
    return this.token("default");
  }

  /** The agent's own token for its RPC (anti-entropy, coordinates): `agent`, else `default`. */
  get agentToken(): string {
    return this.token("agent") || this.token("default");
  }

  authorizer(secret: string): MaybePromise<Authorizer> {
    if (!this.settings.enabled) return ALLOW_ALL;
    const recovery = this.token("agent_recovery");
    // The recovery token works without any server: agent write on this node, node read everywhere (Consul's agentRecoveryAuthorizer).
    if (recovery !== "" && secret === recovery) {
      return new Authorizer("agent-recovery", new PolicyAuthorizer([{ agent: [{ Name: this.nodeName, Policy: "write" }], node_prefix: [{ Name: "", Policy: "read" }] }]), "deny");
    }
    return this.resolveFn(secret);
  }
}

/** A server agent: its own server resolves (cached by ACL index there; a secondary asks the primary for tokens it does not hold). */
export function serverResolver(server: Server): ResolveFn {
  return (secret) => {
    const p = server.acl.pending(secret);
    return p === null ? server.acl.authorizer(secret) : p.then(() => server.acl.authorizer(secret));
  };
}

/** A client agent: ACL.ResolveToken on a server, cached for `token_ttl`; `down_policy` when none answers (the same cache a secondary keeps of the primary's answers). */
export function remoteResolver(rpc: Rpc, datacenter: string, settings: AgentAclSettings, now: () => number = Date.now): ResolveFn {
  const cache = new RemoteTokens(settings, now);
  const servers = { rpc, datacenter };
  const answer = (secret: string): Authorizer => {
    const e = cache.get(secret);
    if (e === undefined || (e.resolved !== null && e.resolved.ExpiresAt !== 0 && e.resolved.ExpiresAt <= now())) throw new ACLNotFoundError();
    return e.authz;
  };
  return (secret) => {
    const p = cache.pending(secret, servers);
    return p === null ? answer(secret) : p.then(() => answer(secret));
  };
}

/** The agent's own calls (anti-entropy, coordinates, leaf signing, DNS) act with `token()` unless they carry one. */
export function withToken(rpc: Rpc, token: () => string): Rpc {
  return {
    call(method, args, opts) {
      return rpc.call(method, args, opts.token === undefined ? { ...opts, token: token() } : opts);
    },
  };
}

/** A server agent's DNS: the `dns` token's authorizer (else the default token's); one that does not resolve sees nothing. */
export function dnsAuthorizer(server: Server, acl: AgentAcl): () => Authorizer {
  const denyAll = new Authorizer("", null, "deny");
  return () => {
    const token = acl.token("dns") || acl.defaultToken;
    // A secondary learns a dns token it does not hold from the primary; until then DNS answers as denied.
    void server.acl.pending(token);
    try {
      return server.acl.authorizer(token);
    } catch {
      return denyAll;
    }
  };
}
