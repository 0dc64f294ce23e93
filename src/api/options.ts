/** Per-request options and response metadata, as in the Go client's QueryOptions / QueryMeta. */

export interface QueryOptions {
  /** Datacenter to query (`?dc=`); overrides the client's default. */
  readonly dc?: string;
  /** Let any server answer, even without a leader (`?stale`). */
  readonly stale?: boolean;
  /** Make the leader confirm leadership first (`?consistent`). */
  readonly consistent?: boolean;
  /** Blocking query: wait until the index moves past this value (`?index=`). */
  readonly index?: number;
  /**
   * Upper bound for a blocking query, in milliseconds (`?wait=<n>ms`). The
   * agent adds up to wait/16 of jitter; keep wait + jitter under 300s on Node,
   * whose fetch abandons responses that take longer to start.
   */
  readonly wait?: number;
  /** Hash-based blocking for agent-local endpoints (`?hash=`). */
  readonly hash?: string;
  /** go-bexpr filter expression (`?filter=`). */
  readonly filter?: string;
  /** ACL token for this request (sent as `X-Consul-Token`). */
  readonly token?: string;
  /** Sort by round-trip time from this node, or `_agent` (`?near=`). */
  readonly near?: string;
  /** Node metadata filters, `key:value` pairs (`?node-meta=`, repeatable). */
  readonly nodeMeta?: Readonly<Record<string, string>>;
  /** Ask the agent cache to answer (`?cached`); ignored with `consistent`. */
  readonly cached?: boolean;
  /** Aborts the request, including a parked blocking query. */
  readonly signal?: AbortSignal;
}

export interface WriteOptions {
  readonly dc?: string;
  readonly token?: string;
  readonly signal?: AbortSignal;
}

/** Metadata parsed from the `X-Consul-*` response headers. */
export interface QueryMeta {
  /** `X-Consul-Index`: feed back as `index` for the next blocking query. */
  readonly lastIndex: number;
  /** `X-Consul-ContentHash`, for hash-based blocking. */
  readonly lastContentHash: string;
  /** `X-Consul-LastContact`: milliseconds since the answering server heard from the leader. */
  readonly lastContact: number;
  /** `X-Consul-KnownLeader`. */
  readonly knownLeader: boolean;
  /** `X-Consul-Translate-Addresses`. */
  readonly addressTranslationEnabled: boolean;
  /** `X-Consul-Default-ACL-Policy`: "allow", "deny" or "" when absent. */
  readonly defaultACLPolicy: string;
  /** `X-Consul-Results-Filtered-By-ACLs`. */
  readonly resultsFilteredByACLs: boolean;
  /** `X-Cache: HIT`. */
  readonly cacheHit: boolean;
  /** `Age` header, in seconds. */
  readonly cacheAge: number;
  /** Round-trip time of the request, in milliseconds. */
  readonly requestTime: number;
}

export function parseQueryMeta(headers: Headers, requestTime: number): QueryMeta {
  const index = headers.get("X-Consul-Index");
  const lastContact = Number(headers.get("X-Consul-LastContact") ?? "0");
  const policy = headers.get("X-Consul-Default-ACL-Policy") ?? "";
  const age = Number(headers.get("Age") ?? "0");
  return {
    lastIndex: index !== null && /^\d+$/.test(index) ? Number(index) : 0,
    lastContentHash: headers.get("X-Consul-ContentHash") ?? "",
    lastContact: Number.isFinite(lastContact) ? lastContact : 0,
    knownLeader: headers.get("X-Consul-KnownLeader") === "true",
    addressTranslationEnabled: headers.get("X-Consul-Translate-Addresses") === "true",
    defaultACLPolicy: policy === "allow" || policy === "deny" ? policy : "",
    resultsFilteredByACLs: headers.get("X-Consul-Results-Filtered-By-ACLs") === "true",
    cacheHit: (headers.get("X-Cache") ?? "").toUpperCase() === "HIT",
    cacheAge: Number.isFinite(age) ? age : 0,
    requestTime,
  };
}
