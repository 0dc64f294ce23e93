/**
 * A secondary's resolution of tokens it does not hold (Consul's remote
 * resolution through the ACL datacenter): `ACL.ResolveToken` on the primary,
 * cached for `token_ttl`. When the primary cannot be reached, `down_policy`:
 * extend-cache and async-cache keep what was seen (for another TTL), deny
 * and allow answer so, and a token never seen gets the default policy
 * (Consul's down authorizer for the cache policies). async-cache answers a
 * stale entry at once and refreshes behind it.
 */
import { ACLNotFoundError, Authorizer, type DefaultPolicy, PolicyAuthorizer } from "../acl/mod.ts";
import type { Rpc } from "../rpc/types.ts";
import type { ResolvedToken } from "./acl.ts";

/** After the primary failed to answer, how long a down answer stands before the next try (ms). */
const DOWN_RETRY_MS = 1_000;
const MAX_ENTRIES = 10_000;

export interface Upstream {
  readonly rpc: Rpc;
  /** The primary datacenter. */
  readonly datacenter: string;
}

export interface RemoteEntry {
  /** null: the primary did not answer and this is `down_policy`'s answer. */
  readonly resolved: ResolvedToken | null;
  readonly authz: Authorizer;
  at: number;
}

export interface RemoteTokenSettings {
  readonly defaultPolicy: "allow" | "deny";
  readonly downPolicy: "allow" | "deny" | "extend-cache" | "async-cache";
  readonly tokenTtlMs: number;
}

export class RemoteTokens {
  private readonly entries = new Map<string, RemoteEntry>();
  private readonly inflight = new Map<string, Promise<void>>();
  private readonly settings: RemoteTokenSettings;
  private readonly now: () => number;

  constructor(settings: RemoteTokenSettings, now: () => number) {
    this.settings = settings;
    this.now = now;
  }

  /** The last answer for `secret` (fresh or kept by down_policy), if any. */
  get(secret: string): RemoteEntry | undefined {
    return this.entries.get(secret);
  }

  /** null when the cached answer may be used now; else a promise that settles (never rejects) once one is cached. */
  pending(secret: string, upstream: Upstream): Promise<void> | null {
    const e = this.entries.get(secret);
    const age = e === undefined ? Infinity : this.now() - e.at;
    if (e !== undefined && age < (e.resolved === null ? DOWN_RETRY_MS : this.settings.tokenTtlMs)) return null;
    if (e !== undefined && e.resolved !== null && this.settings.downPolicy === "async-cache") {
      void this.fetch(secret, upstream);
      return null;
    }
    return this.fetch(secret, upstream);
  }

  private fetch(secret: string, up: Upstream): Promise<void> {
    let p = this.inflight.get(secret);
    if (p) return p;
    p = (async () => {
      try {
        const r = await up.rpc.call("ACL.ResolveToken", {}, { datacenter: up.datacenter, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0, token: secret });
        this.put(secret, { resolved: r, authz: this.build(r), at: this.now() });
      } catch (err) {
        if (err instanceof ACLNotFoundError) {
          this.entries.delete(secret);
          return;
        }
        const seen = this.entries.get(secret);
        const cachePolicy = this.settings.downPolicy === "extend-cache" || this.settings.downPolicy === "async-cache";
        if (cachePolicy && seen !== undefined && seen.resolved !== null) {
          seen.at = this.now();
          return;
        }
        this.put(secret, { resolved: null, authz: new Authorizer("", null, this.downDefault()), at: this.now() });
      } finally {
        this.inflight.delete(secret);
      }
    })();
    this.inflight.set(secret, p);
    return p;
  }

  private downDefault(): DefaultPolicy {
    const d = this.settings.downPolicy;
    return d === "allow" || d === "deny" ? d : this.settings.defaultPolicy;
  }

  private build(r: ResolvedToken): Authorizer {
    return new Authorizer(r.AccessorID, r.Rules.length > 0 ? new PolicyAuthorizer(r.Rules) : null, this.settings.defaultPolicy);
  }

  private put(secret: string, e: RemoteEntry): void {
    if (this.entries.size >= MAX_ENTRIES && !this.entries.has(secret)) this.entries.clear();
    this.entries.set(secret, e);
  }
}
