/**
 * A request's hash key for ring_hash / maglev from the resolver's
 * HashPolicies (Envoy's hash_policy): a header, a cookie (generated with its
 * TTL when missing and CookieConfig asks for it), a query parameter, or the
 * source IP. Several policies combine; a Terminal one that produced a key
 * stops the rest.
 */
import { hash32 } from "./hash.ts";
import type { HashPolicy } from "./lb.ts";
import { headerGet, type L7Request, queryValues, splitTarget } from "./request.ts";

export interface RequestHash {
  readonly hash: number | null;
  /** A Set-Cookie value to add to the response (a generated cookie). */
  readonly setCookie: string | null;
}

function cookieValue(req: L7Request, name: string): string | null {
  const header = headerGet(req.headers, "cookie");
  if (header === null) return null;
  for (const part of header.split(/;\s*/)) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** TTL as Consul stores it (nanoseconds) or as Go text. */
function ttlSeconds(ttl: number | string | undefined): number {
  if (typeof ttl === "number") return Math.floor(ttl / 1e9);
  if (typeof ttl === "string") {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(ttl);
    if (m) return Math.floor(Number(m[1]) * ({ ms: 0.001, s: 1, m: 60, h: 3600 } as Record<string, number>)[m[2]!]!);
  }
  return 0;
}

/** No hash key and no cookie (no hash policy). */
export const NO_HASH: RequestHash = { hash: null, setCookie: null };

export function requestHash(policies: readonly HashPolicy[] | null | undefined, req: L7Request, random: () => number = Math.random): RequestHash {
  let hash: number | null = null;
  let setCookie: string | null = null;
  const mix = (h: number) => {
    hash = hash === null ? h : (((hash << 1) | (hash >>> 31)) ^ h) >>> 0;
  };
  for (const p of policies ?? []) {
    let key: string | null = null;
    if (p.SourceIP) key = req.sourceIp;
    else if (p.Field === "header") key = headerGet(req.headers, p.FieldValue ?? "");
    else if (p.Field === "query_parameter") key = queryValues(splitTarget(req.target).query, p.FieldValue ?? "")[0] ?? null;
    else if (p.Field === "cookie") {
      key = cookieValue(req, p.FieldValue ?? "");
      const cc = p.CookieConfig;
      if (key === null && cc && (cc.Session || ttlSeconds(cc.TTL) > 0)) {
        key = Math.floor(random() * 2 ** 52).toString(16);
        const ttl = ttlSeconds(cc.TTL);
        setCookie = `${p.FieldValue}=${key}${cc.Path ? `; Path=${cc.Path}` : ""}${!cc.Session && ttl > 0 ? `; Max-Age=${ttl}` : ""}; HttpOnly`;
      }
    }
    if (key === null) continue;
    mix(hash32(key));
    if (p.Terminal) break;
  }
  return { hash, setCookie };
}
