/**
 * Prepared queries (Consul's agent/structs/prepared_query.go), with the
 * fields Consulate adds past Consul (`Tiers`, `SkipLocal`, `MinHealthy` in
 * `Service`): Consul's clients ignore fields they do not know, and those
 * fields are written out only when set, so a query that uses none of them
 * reads back exactly as Consul's would.
 */
import { bool, DecodeError, num, obj, objList, type Obj, requireObject, str } from "./decode.ts";
import { field, isObject } from "./json.ts";

export const QueryTemplateType = { NamePrefixMatch: "name_prefix_match" } as const;

/** What a query's token reads as for a caller that may not see it (Consul's redactedToken). */
export const REDACTED_TOKEN = "<hidden>";

export interface QueryFailoverTarget {
  Peer: string;
  Datacenter: string;
  Partition?: string;
  Namespace?: string;
}

export interface QueryFailoverOptions {
  NearestN: number;
  Datacenters: string[] | null;
  Targets: QueryFailoverTarget[] | null;
}

/**
 * A lower-priority tier (Consulate's own): used only when no earlier tier has
 * a healthy instance in any datacenter it may try. Unset fields inherit the
 * query's own.
 */
export interface ServiceTier {
  Service?: string;
  Tags?: string[];
  NodeMeta?: Record<string, string>;
  ServiceMeta?: Record<string, string>;
  OnlyPassing?: boolean;
  Failover?: QueryFailoverOptions;
}

export interface ServiceQuery {
  Service: string;
  SamenessGroup: string;
  Failover: QueryFailoverOptions;
  OnlyPassing: boolean;
  IgnoreCheckIDs: string[] | null;
  Near: string;
  Tags: string[] | null;
  NodeMeta: Record<string, string> | null;
  ServiceMeta: Record<string, string> | null;
  Connect: boolean;
  Peer: string;
  /** Consulate's own: later tiers, tried in order once this one has nothing healthy anywhere. */
  Tiers?: ServiceTier[];
  /** Consulate's own: never answer from the local datacenter. */
  SkipLocal?: boolean;
  /** Consulate's own: fail over while fewer than this many instances pass (Consul: 1). */
  MinHealthy?: number;
}

export interface QueryTemplateOptions {
  Type: string;
  Regexp: string;
  RemoveEmptyTags: boolean;
}

export interface PreparedQuery {
  ID: string;
  Name: string;
  Session: string;
  Token: string;
  Template: QueryTemplateOptions;
  Service: ServiceQuery;
  DNS: { TTL: string };
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's ErrQueryNotFound text (the HTTP layer answers it with 404). */
export const QUERY_NOT_FOUND = "Query not found";

const fail = (msg: string): never => {
  throw new DecodeError(`Request decode failed: ${msg}`);
};

/** A list of strings that stays null when absent (Go's nil slice encodes as null). */
function optList(o: Obj, name: string): string[] | null {
  const v = field(o, name);
  if (v === undefined || v === null) return null;
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return fail(`${name} must be a list of strings`);
  return [...(v as string[])];
}

function optMap(o: Obj, name: string): Record<string, string> | null {
  const v = field(o, name);
  if (v === undefined || v === null) return null;
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) return fail(`${name} must be a map of strings`);
  return { ...(v as Record<string, string>) };
}

function int(o: Obj, name: string): number {
  const n = num(o, name);
  if (!Number.isSafeInteger(n)) return fail(`${name} must be an integer, got ${n}`);
  return n;
}

function decodeFailover(o: Obj | null): QueryFailoverOptions {
  if (o === null) return { NearestN: 0, Datacenters: null, Targets: null };
  const targets = field(o, "Targets") === null || field(o, "Targets") === undefined ? null : objList(o, "Targets");
  return {
    NearestN: int(o, "NearestN"),
    Datacenters: optList(o, "Datacenters"),
    Targets:
      targets?.map((t) => {
        const out: QueryFailoverTarget = { Peer: str(t, "Peer", "PeerName"), Datacenter: str(t, "Datacenter") };
        if (str(t, "Partition") !== "") out.Partition = str(t, "Partition");
        if (str(t, "Namespace") !== "") out.Namespace = str(t, "Namespace");
        return out;
      }) ?? null,
  };
}

function decodeTier(o: Obj): ServiceTier {
  const tier: ServiceTier = {};
  if (field(o, "Service") != null) tier.Service = str(o, "Service");
  const tags = optList(o, "Tags");
  if (tags !== null) tier.Tags = tags;
  const nm = optMap(o, "NodeMeta");
  if (nm !== null) tier.NodeMeta = nm;
  const sm = optMap(o, "ServiceMeta");
  if (sm !== null) tier.ServiceMeta = sm;
  if (field(o, "OnlyPassing") != null) tier.OnlyPassing = bool(o, "OnlyPassing");
  const fo = obj(o, "Failover");
  if (fo !== null) tier.Failover = decodeFailover(fo);
  return tier;
}

function decodeService(o: Obj | null): ServiceQuery {
  const s = o ?? {};
  const out: ServiceQuery = {
    Service: str(s, "Service"),
    SamenessGroup: str(s, "SamenessGroup"),
    Failover: decodeFailover(obj(s, "Failover")),
    OnlyPassing: bool(s, "OnlyPassing"),
    IgnoreCheckIDs: optList(s, "IgnoreCheckIDs"),
    Near: str(s, "Near"),
    Tags: optList(s, "Tags"),
    NodeMeta: optMap(s, "NodeMeta"),
    ServiceMeta: optMap(s, "ServiceMeta"),
    Connect: bool(s, "Connect"),
    Peer: str(s, "Peer"),
  };
  const tiers = field(s, "Tiers");
  if (tiers !== undefined && tiers !== null) out.Tiers = objList(s, "Tiers").map(decodeTier);
  if (field(s, "SkipLocal") != null) out.SkipLocal = bool(s, "SkipLocal");
  if (field(s, "MinHealthy") != null) out.MinHealthy = int(s, "MinHealthy");
  return out;
}

/**
 * Decodes a create/update body (field names case-insensitive, as Go's JSON
 * decoder reads them). Only shapes are checked here; `validateQuery` checks
 * the values.
 */
export function decodePreparedQuery(body: unknown): PreparedQuery {
  const b = body === null ? {} : requireObject(body);
  const t = obj(b, "Template") ?? {};
  const dns = obj(b, "DNS") ?? {};
  return {
    ID: str(b, "ID"),
    Name: str(b, "Name"),
    Session: str(b, "Session"),
    Token: str(b, "Token"),
    Template: { Type: str(t, "Type"), Regexp: str(t, "Regexp"), RemoveEmptyTags: bool(t, "RemoveEmptyTags") },
    Service: decodeService(obj(b, "Service")),
    DNS: { TTL: str(dns, "TTL") },
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** Consul's structs.ValidateNodeMetadata for filters (reserved prefix allowed). */
function validateMetaFilter(meta: Record<string, string> | null | undefined): string | null {
  if (!meta) return null;
  const keys = Object.keys(meta);
  if (keys.length > 64) return `Node metadata cannot contain more than 64 key/value pairs`;
  for (const k of keys) {
    if (k === "") return "Key cannot be blank";
    if (!/^[a-zA-Z0-9_-]+$/.test(k)) return `Key contains invalid characters`;
    if (k.length > 128) return `Key is too long (limit: 128 characters)`;
    if (meta[k]!.length > 512) return `Value is too long (limit: 512 characters)`;
  }
  return null;
}

/**
 * Consul's parseQuery (prepared_query_endpoint.go): the checks a create or
 * update must pass before it is written; the text of the problem, or null.
 * Names, sessions and templates are checked where they are stored.
 */
export function queryProblem(q: PreparedQuery, parseTtl: (ttl: string) => number | null): string | null {
  if (q.Name === "" && q.Template.Type === "" && q.Session === "") return "Must be bound to a session";
  if (q.Token === REDACTED_TOKEN) return `Bad Token '${q.Token}', it looks like a query definition with a redacted token was submitted`;
  const s = q.Service;
  if (s.Service === "") return "Must provide a Service name to query";
  if (s.Failover.NearestN < 0) return `Bad NearestN '${s.Failover.NearestN}', must be >= 0`;
  if (s.Failover.Targets !== null && s.Failover.Targets.length > 0 && (s.Failover.NearestN !== 0 || (s.Failover.Datacenters ?? []).length > 0)) {
    return "Targets cannot be populated with NearestN or Datacenters";
  }
  if (s.SamenessGroup !== "" && (s.Failover.NearestN !== 0 || (s.Failover.Datacenters ?? []).length > 0 || (s.Failover.Targets ?? []).length > 0)) {
    return "Service.SamenessGroup and Service.Failover cannot both be set";
  }
  const meta = validateMetaFilter(s.NodeMeta);
  if (meta) return meta;
  if (s.MinHealthy !== undefined && s.MinHealthy < 0) return `Bad MinHealthy '${s.MinHealthy}', must be >= 0`;
  for (const [i, tier] of (s.Tiers ?? []).entries()) {
    if (tier.Failover && tier.Failover.NearestN < 0) return `Bad Tiers[${i}].Failover.NearestN '${tier.Failover.NearestN}', must be >= 0`;
    const m = validateMetaFilter(tier.NodeMeta);
    if (m) return `Tiers[${i}]: ${m}`;
  }
  if (q.DNS.TTL !== "") {
    const ms = parseTtl(q.DNS.TTL);
    if (ms === null) return `Bad DNS TTL '${q.DNS.TTL}': time: invalid duration "${q.DNS.TTL}"`;
    if (ms < 0) return `DNS TTL '${q.DNS.TTL}', must be >=0`;
  }
  return null;
}

function failoverJson(f: QueryFailoverOptions): Record<string, unknown> {
  return { NearestN: f.NearestN, Datacenters: f.Datacenters, Targets: f.Targets };
}

/** The query as Consul's JSON encodes structs.PreparedQuery (extra fields only when set). */
export function preparedQueryJson(q: PreparedQuery, token: string = q.Token): Record<string, unknown> {
  const s = q.Service;
  const service: Record<string, unknown> = {
    Service: s.Service,
    SamenessGroup: s.SamenessGroup,
    Failover: failoverJson(s.Failover),
    OnlyPassing: s.OnlyPassing,
    IgnoreCheckIDs: s.IgnoreCheckIDs,
    Near: s.Near,
    Tags: s.Tags,
    NodeMeta: s.NodeMeta,
    ServiceMeta: s.ServiceMeta,
    Peer: s.Peer,
    Connect: s.Connect,
  };
  if (s.Tiers !== undefined) service.Tiers = s.Tiers.map((t) => (t.Failover ? { ...t, Failover: failoverJson(t.Failover) } : t));
  if (s.SkipLocal !== undefined) service.SkipLocal = s.SkipLocal;
  if (s.MinHealthy !== undefined) service.MinHealthy = s.MinHealthy;
  return {
    ID: q.ID,
    Name: q.Name,
    Session: q.Session,
    Token: token,
    Template: { ...q.Template },
    Service: service,
    DNS: { ...q.DNS },
    CreateIndex: q.CreateIndex,
    ModifyIndex: q.ModifyIndex,
  };
}

/** Consul's isUUID: 36 characters of hex in the 8-4-4-4-12 layout. */
export function isUuid(s: string): boolean {
  return s.length === 36 && /^[\da-f]{8}-[\da-f]{4}-[\da-f]{4}-[\da-f]{4}-[\da-f]{12}$/i.test(s);
}
