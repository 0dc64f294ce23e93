/**
 * The intention evaluator: pure functions over a list of intentions, with no
 * state and no I/O, shared by the server (`/v1/connect/intentions/check`,
 * `/v1/agent/connect/authorize`) and the data plane (sidecars and native
 * apps evaluate L4 on connect and L7 per HTTP request).
 *
 * Semantics follow Consul: intentions are ordered by precedence
 * (agent/structs/intention.go UpdatePrecedence, IntentionPrecedenceSorter);
 * the highest-precedence intention whose source and destination match is the
 * only one that applies. An L4 intention decides by its Action. An L7
 * intention's permissions are tried in order and the first that matches the
 * request is terminal; when none matches, the default decision applies
 * (Consul's RBAC for Envoy works the same way). Where no request is known
 * (connection authorization, `check`), an L7 intention counts as deny.
 *
 * @example
 * ```ts
 * const ixns = [{ SourceNS: "default", SourceName: "web", DestinationNS: "default",
 *   DestinationName: "db", SourceType: "consul", Action: "deny", Precedence: 9,
 *   CreateIndex: 1, ModifyIndex: 1 }];
 * authorizeConnection(ixns, { name: "web" }, { name: "db" }, { defaultAllow: true }).allowed; // false
 * ```
 */
import { compileRe2 } from "../filter/re2.ts";
import {
  DEFAULT_NAMESPACE,
  DEFAULT_PARTITION,
  type Intention,
  IntentionAction,
  type IntentionHTTPHeaderPermission,
  type IntentionHTTPPermission,
  type IntentionPermission,
  WILDCARD,
} from "../structs/intention.ts";

/** A service as intentions name it; namespace and partition default to "default". */
export interface ServiceRef {
  readonly name: string;
  readonly namespace?: string;
  readonly partition?: string;
  /** Set when the source is a service of a cluster peer. */
  readonly peer?: string;
}

/** The parts of an HTTP request L7 permissions look at. */
export interface HttpRequestInfo {
  readonly method: string;
  /** The request target; a query string is ignored, as Envoy's path matchers do. */
  readonly path: string;
  /** Any Headers-like reader (a web `Headers` fits); values of a repeated header come joined by ", ". */
  readonly headers: { get(name: string): string | null };
  /** Value for the `:authority` pseudo-header when there is no Host header (HTTP/2). */
  readonly authority?: string;
  readonly scheme?: string;
}

export interface EvaluateOptions {
  /**
   * What happens when no intention matches: allow while ACLs are off (Consul's
   * default), or as `default_intention_policy` says.
   */
  readonly defaultAllow: boolean;
  /**
   * Set when the default comes from `default_intention_policy` rather than the
   * ACL default; only the wording of the reason changes.
   */
  readonly defaultFromIntentionPolicy?: boolean;
}

export interface IntentionDecision {
  readonly allowed: boolean;
  /** The intention that decided, or null when the default did. */
  readonly intention: Intention | null;
  /** The L7 permission that decided (request evaluation only). */
  readonly permission: IntentionPermission | null;
  /** Its index in the intention's Permissions, or -1. */
  readonly permissionIndex: number;
  /** The matched intention carries L7 permissions. */
  readonly hasPermissions: boolean;
  readonly defaultAllow: boolean;
  /** Why, worded as Consul's authorize endpoint words it. */
  readonly reason: string;
}

// ---- precedence ----

/** How many of (namespace, name) are exact values: wildcard namespace 0, wildcard name 1, both exact 2. */
function countExact(ns: string, name: string): number {
  if (ns === WILDCARD) return 0;
  if (name === WILDCARD) return 1;
  return 2;
}

/**
 * Consul's precedence of an intention: 9 for exact -> exact, 8 for * -> exact,
 * 6 for exact -> *, 5 for * -> *, and lower values once namespaces are wildcards.
 */
export function intentionPrecedence(sourceNS: string, sourceName: string, destinationNS: string, destinationName: string): number {
  const max = [3, 6, 9][countExact(destinationNS || DEFAULT_NAMESPACE, destinationName)]!;
  return max - (2 - countExact(sourceNS || DEFAULT_NAMESPACE, sourceName));
}

const str = (a: string | undefined, b: string | undefined): number => {
  const x = a ?? "";
  const y = b ?? "";
  return x < y ? -1 : x > y ? 1 : 0;
};

/**
 * Orders intentions as Consul's IntentionPrecedenceSorter: higher precedence
 * first, ties broken by the (source, destination) names so the order is stable.
 */
export function comparePrecedence(a: Intention, b: Intention): number {
  if (a.Precedence !== b.Precedence) return b.Precedence - a.Precedence;
  return (
    str(a.SourcePartition, b.SourcePartition) ||
    str(a.SourceNS, b.SourceNS) ||
    str(a.SourceName, b.SourceName) ||
    str(a.DestinationPartition, b.DestinationPartition) ||
    str(a.DestinationNS, b.DestinationNS) ||
    str(a.DestinationName, b.DestinationName)
  );
}

/** A sorted copy (highest precedence first). */
export function sortByPrecedence<T extends Intention>(ixns: readonly T[]): T[] {
  return [...ixns].sort(comparePrecedence);
}

// ---- matching ----

const partitionOf = (p: string | undefined): string => p || DEFAULT_PARTITION;

/** Whether an intention's source (or destination) side covers a service (Consul's connect.IntentionMatch). */
export function intentionMatches(ixn: Intention, target: ServiceRef, by: "source" | "destination"): boolean {
  const ns = target.namespace || DEFAULT_NAMESPACE;
  if (by === "destination") {
    if (partitionOf(ixn.DestinationPartition) !== partitionOf(target.partition)) return false;
    if (ixn.DestinationNS !== WILDCARD && ixn.DestinationNS !== ns) return false;
    return ixn.DestinationName === WILDCARD || ixn.DestinationName === target.name;
  }
  if ((ixn.SourcePeer ?? "") !== (target.peer ?? "")) return false;
  if (!target.peer && partitionOf(ixn.SourcePartition) !== partitionOf(target.partition)) return false;
  if (ixn.SourceNS !== WILDCARD && ixn.SourceNS !== ns) return false;
  return ixn.SourceName === WILDCARD || ixn.SourceName === target.name;
}

/**
 * The one intention that applies to a (source, destination) pair: the
 * highest-precedence one matching both sides, or null. The list need not be
 * sorted or pre-filtered.
 */
export function findIntention<T extends Intention>(ixns: readonly T[], source: ServiceRef, destination: ServiceRef): T | null {
  let best: T | null = null;
  for (const ixn of ixns) {
    if (!intentionMatches(ixn, source, "source") || !intentionMatches(ixn, destination, "destination")) continue;
    if (best === null || comparePrecedence(ixn, best) < 0) best = ixn;
  }
  return best;
}

// ---- wording ----

function serviceString(ns: string, name: string): string {
  return `${ns || DEFAULT_NAMESPACE}/${name}`;
}

/** Consul's Intention.String(): `default/web => default/db (Precedence: 9, Action: DENY)`. */
export function intentionString(ixn: Intention): string {
  const id = ixn.ID ? `ID: ${ixn.ID}, ` : "";
  const detail = ixn.Permissions && ixn.Permissions.length > 0 ? `Permissions: ${ixn.Permissions.length}` : `Action: ${(ixn.Action ?? "").toUpperCase()}`;
  return `${serviceString(ixn.SourceNS, ixn.SourceName)} => ${serviceString(ixn.DestinationNS, ixn.DestinationName)} (${id}Precedence: ${ixn.Precedence}, ${detail})`;
}

function defaultDecision(opts: EvaluateOptions): IntentionDecision {
  return {
    allowed: opts.defaultAllow,
    intention: null,
    permission: null,
    permissionIndex: -1,
    hasPermissions: false,
    defaultAllow: opts.defaultAllow,
    reason: opts.defaultFromIntentionPolicy ? "Default intention policy" : "Default behavior configured by ACLs",
  };
}

// ---- L4 ----

/**
 * Decides a connection from `source` to `destination` (Consul's agent
 * authorize and Intention.Check): the matching L4 intention's action, deny for
 * a matching L7 intention (no request to judge yet), else the default.
 */
export function authorizeConnection(ixns: readonly Intention[], source: ServiceRef, destination: ServiceRef, opts: EvaluateOptions): IntentionDecision {
  const ixn = findIntention(ixns, source, destination);
  if (!ixn) return defaultDecision(opts);
  const l7 = (ixn.Permissions?.length ?? 0) > 0;
  return {
    allowed: !l7 && ixn.Action === IntentionAction.Allow,
    intention: ixn,
    permission: null,
    permissionIndex: -1,
    hasPermissions: l7,
    defaultAllow: opts.defaultAllow,
    reason: `${l7 ? "Matched L7 intention" : "Matched L4 intention"}: ${intentionString(ixn)}`,
  };
}

// ---- L7 ----

const regexCache = new Map<string, RegExp>();

/** Whether `value` matches the RE2 `pattern` as a whole (Envoy's safe_regex semantics). */
export function fullMatch(pattern: string, value: string): boolean {
  let re = regexCache.get(pattern);
  if (!re) {
    re = compileRe2(`^(?:${pattern})$`);
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(pattern, re);
  }
  return re.test(value);
}

function stripQuery(path: string): string {
  const q = path.search(/[?#]/);
  return q === -1 ? path : path.slice(0, q);
}

function headerValue(req: HttpRequestInfo, name: string): string | null {
  switch (name.toLowerCase()) {
    case ":method":
      return req.method;
    case ":path":
      return req.path;
    case ":authority":
      return req.headers.get("host") ?? req.authority ?? null;
    case ":scheme":
      return req.scheme ?? null;
    default:
      return req.headers.get(name);
  }
}

/** Envoy's HeaderMatcher: an absent header matches only `Present` + `Invert`. */
export function headerMatches(h: IntentionHTTPHeaderPermission, req: HttpRequestInfo): boolean {
  const value = headerValue(req, h.Name);
  if (value === null) return h.Present === true && h.Invert === true;
  let ok: boolean;
  if (h.Exact) ok = value === h.Exact;
  else if (h.Prefix) ok = value.startsWith(h.Prefix);
  else if (h.Suffix) ok = value.endsWith(h.Suffix);
  else if (h.Regex) ok = fullMatch(h.Regex, value);
  else ok = true; // Present
  return h.Invert ? !ok : ok;
}

/** Whether every condition of an HTTP permission holds for the request. */
export function httpPermissionMatches(p: IntentionHTTPPermission, req: HttpRequestInfo): boolean {
  const path = stripQuery(req.path);
  if (p.PathExact && path !== p.PathExact) return false;
  if (p.PathPrefix && !path.startsWith(p.PathPrefix)) return false;
  if (p.PathRegex && !fullMatch(p.PathRegex, path)) return false;
  for (const h of p.Header ?? []) if (!headerMatches(h, req)) return false;
  if (p.Methods && p.Methods.length > 0 && !p.Methods.includes(req.method.toUpperCase())) return false;
  return true;
}

/**
 * Decides one HTTP request from `source` to `destination` on an L7-aware
 * listener: an L4 intention decides by its action; an L7 intention by its
 * first matching permission, or the default when none matches.
 */
export function authorizeRequest(
  ixns: readonly Intention[],
  source: ServiceRef,
  destination: ServiceRef,
  req: HttpRequestInfo,
  opts: EvaluateOptions,
): IntentionDecision {
  const ixn = findIntention(ixns, source, destination);
  if (!ixn) return defaultDecision(opts);
  const perms = ixn.Permissions ?? [];
  if (perms.length === 0) return authorizeConnection([ixn], source, destination, opts);
  for (let i = 0; i < perms.length; i++) {
    const perm = perms[i]!;
    if (perm.HTTP && httpPermissionMatches(perm.HTTP, req)) {
      return {
        allowed: perm.Action === IntentionAction.Allow,
        intention: ixn,
        permission: perm,
        permissionIndex: i,
        hasPermissions: true,
        defaultAllow: opts.defaultAllow,
        reason: `Matched L7 intention: ${intentionString(ixn)}, permission ${i} (${perm.Action.toUpperCase()})`,
      };
    }
  }
  return {
    ...defaultDecision(opts),
    intention: ixn,
    hasPermissions: true,
    reason: `Matched L7 intention: ${intentionString(ixn)}, no permission matched; ${defaultDecision(opts).reason}`,
  };
}
