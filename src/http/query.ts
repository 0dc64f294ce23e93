/** Query parameters every read endpoint shares (Consul's agent/http.go parse). */
import { HttpError } from "./errors.ts";
import { parseGoDuration } from "../structs/duration.ts";

export type Consistency = "default" | "stale" | "consistent";

export interface QueryOptions {
  readonly minIndex: number;
  readonly waitMs: number;
  readonly consistency: Consistency;
  readonly maxStaleMs: number;
  readonly filter: string;
  readonly datacenter: string;
  readonly pretty: boolean;
  /** The client's request signal, on blocking reads for another datacenter (cancels the remote wait). */
  readonly signal?: AbortSignal;
  /** The ACL token the request acts with ("" or absent: anonymous). */
  readonly token?: string;
}

/** Presence-only flags: `?stale`, `?stale=1` and `?stale=anything` all count. */
export function has(url: Pick<URL, "searchParams">, name: string): boolean {
  return url.searchParams.has(name);
}

const plain = new Map<string, QueryOptions>();

export function parseQueryOptions(url: Pick<URL, "search" | "searchParams">, defaultDc: string): QueryOptions {
  // Most requests carry no query string: share one frozen answer per datacenter.
  if (url.search === "") {
    let q = plain.get(defaultDc);
    if (!q) {
      q = Object.freeze({ minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0, filter: "", datacenter: defaultDc, pretty: false });
      plain.set(defaultDc, q);
    }
    return q;
  }
  const p = url.searchParams;
  let minIndex = 0;
  const index = p.get("index");
  if (index !== null && index !== "") {
    if (!/^\d+$/.test(index) || !Number.isSafeInteger(Number(index))) throw new HttpError(400, "Invalid index");
    minIndex = Number(index);
  }
  let waitMs = 0;
  const wait = p.get("wait");
  if (wait !== null && wait !== "") {
    const ms = parseGoDuration(wait);
    if (ms === null || ms < 0) throw new HttpError(400, "Invalid wait time");
    waitMs = ms;
  }
  let consistency: Consistency = "default";
  const stale = p.has("stale");
  const consistent = p.has("consistent");
  if (stale && consistent) throw new HttpError(400, "Cannot specify ?stale with ?consistent, conflicting semantics.");
  if (consistent && p.has("cached")) throw new HttpError(400, "Cannot specify ?cached with ?consistent, conflicting semantics.");
  let maxStaleMs = 0;
  const maxStale = p.get("max_stale");
  if (maxStale !== null && maxStale !== "") {
    const ms = parseGoDuration(maxStale);
    if (ms === null || ms < 0) throw new HttpError(400, `Invalid max_stale value "${maxStale}"`);
    maxStaleMs = ms;
  }
  if (stale || maxStaleMs > 0) consistency = "stale";
  else if (consistent) consistency = "consistent";
  return {
    minIndex,
    waitMs,
    consistency,
    maxStaleMs,
    filter: p.get("filter") ?? "",
    datacenter: p.get("dc") || defaultDc,
    pretty: p.has("pretty"),
  };
}

/** Consul's ParseBool, where "" means true (used by `?passing`). */
export function parseBoolParam(value: string | null, name: string): boolean {
  if (value === null) return false;
  // Exactly Go's strconv.ParseBool spellings (so "tRuE" is refused).
  if (["", "1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  throw new HttpError(400, `Invalid value for ?${name}`);
}

export function parseUint(value: string, what: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) throw new HttpError(400, `Invalid ${what}: "${value}"`);
  return Number(value);
}

/** The request's ACL token: `?token=`, then X-Consul-Token, then a bearer token. */
export function requestToken(url: URL, headers: Headers): string {
  return tokenOfRequest(url.search === "" ? null : url.searchParams, (name) => headers.get(name));
}

/** `requestToken` from the query's parameters (null: no query) and a header lookup by lower-case name. */
export function tokenOfRequest(params: URLSearchParams | null, header: (name: string) => string | null | undefined): string {
  const q = params === null ? null : params.get("token");
  if (q) return q;
  const h = header("x-consul-token");
  if (h) return h;
  const auth = header("authorization");
  // Bearer tokens hold no spaces (RFC 6750), so Consul keeps only the first word.
  if (auth && /^bearer\s+/i.test(auth)) return auth.replace(/^bearer\s+/i, "").trim().split(/\s+/)[0] ?? "";
  return "";
}
