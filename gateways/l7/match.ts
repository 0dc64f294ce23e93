/**
 * Route matching (a service-router route's Match.HTTP, as Consul hands it to
 * Envoy): path exact/prefix/regex (optionally case-insensitive, the query
 * string ignored), headers (exact, prefix, suffix, regex, present, invert),
 * query parameters (exact, regex, present) and methods; every condition must hold.
 */
import { fullMatch, headerMatches } from "../../src/connect/intentions.ts";
import { headerGet, type L7Request, queryValues, splitTarget } from "./request.ts";

export interface HeaderMatch {
  readonly Name: string;
  readonly Present?: boolean;
  readonly Exact?: string;
  readonly Prefix?: string;
  readonly Suffix?: string;
  readonly Regex?: string;
  readonly Invert?: boolean;
}

export interface QueryParamMatch {
  readonly Name: string;
  readonly Present?: boolean;
  readonly Exact?: string;
  readonly Regex?: string;
}

export interface HttpMatch {
  readonly PathExact?: string;
  readonly PathPrefix?: string;
  readonly PathRegex?: string;
  readonly CaseInsensitive?: boolean;
  readonly Header?: readonly HeaderMatch[] | null;
  readonly QueryParam?: readonly QueryParamMatch[] | null;
  readonly Methods?: readonly string[] | null;
}

function pathMatches(m: HttpMatch, path: string): boolean {
  const ci = m.CaseInsensitive === true;
  const p = ci ? path.toLowerCase() : path;
  if (m.PathExact) return p === (ci ? m.PathExact.toLowerCase() : m.PathExact);
  if (m.PathPrefix) return p.startsWith(ci ? m.PathPrefix.toLowerCase() : m.PathPrefix);
  if (m.PathRegex) return fullMatch(ci ? `(?i)${m.PathRegex}` : m.PathRegex, path);
  return true;
}

function queryMatches(q: QueryParamMatch, query: string): boolean {
  const values = queryValues(query, q.Name);
  if (values.length === 0) return false;
  const v = values[0]!;
  if (q.Exact !== undefined && q.Exact !== "") return v === q.Exact;
  if (q.Regex) return fullMatch(q.Regex, v);
  return true;
}

export function routeMatches(m: HttpMatch | null | undefined, req: L7Request): boolean {
  if (!m) return true;
  const { path, query } = splitTarget(req.target);
  if (!pathMatches(m, path)) return false;
  if (m.Methods && m.Methods.length > 0 && !m.Methods.includes(req.method.toUpperCase())) return false;
  const info = { method: req.method, path: req.target, headers: { get: (n: string) => headerGet(req.headers, n) } };
  for (const h of m.Header ?? []) if (!headerMatches(h, info)) return false;
  for (const q of m.QueryParam ?? []) if (!queryMatches(q, query)) return false;
  return true;
}

const COMPILED = new WeakMap<HttpMatch, (req: L7Request) => boolean>();

/**
 * `routeMatches` for one match, worked out once per match object: a match
 * on the path alone tests the target in place (no split, no lowercasing),
 * anything else takes the general path.
 */
export function matcherOf(m: HttpMatch): (req: L7Request) => boolean {
  let f = COMPILED.get(m);
  if (!f) {
    f = compileMatch(m);
    COMPILED.set(m, f);
  }
  return f;
}

function compileMatch(m: HttpMatch): (req: L7Request) => boolean {
  const pathOnly = m.CaseInsensitive !== true && !m.PathRegex && !m.Header?.length && !m.QueryParam?.length && !m.Methods?.length;
  if (pathOnly) {
    // Without a "?" in the pattern, the target starts with it exactly when its path does.
    const exact = m.PathExact;
    if (exact && !exact.includes("?")) return (req) => req.target.startsWith(exact) && (req.target.length === exact.length || req.target.charCodeAt(exact.length) === 63);
    const prefix = m.PathPrefix;
    if (!exact && prefix && !prefix.includes("?")) return (req) => req.target.startsWith(prefix);
    if (!exact && !prefix) return () => true;
  }
  return (req) => routeMatches(m, req);
}

/** PrefixRewrite: the matched PathPrefix (or PathExact) replaced by `rewrite`, the query kept. */
export function rewritePath(m: HttpMatch | null | undefined, rewrite: string, target: string): string {
  if (!rewrite || !m) return target;
  const matched = m.PathPrefix || m.PathExact;
  if (!matched) return target;
  const { path, query } = splitTarget(target);
  const rest = path.slice(matched.length);
  const out = rewrite + rest;
  return query === "" && !target.includes("?") ? out : `${out}?${query}`;
}
