/**
 * Per-field size limits for request bodies, in one table. A string over its
 * limit is refused at decode time (400 naming the field and the limit), so
 * nothing multi-megabyte reaches the state store. Meta limits are Consul's
 * (metaKeyMaxLength, metaValueMaxLength, metaMaxKeyPairs in agent/structs).
 */

/** Any string not named below: the KV value cap. */
export const GENERIC_STRING_MAX = 512 * 1024;

const IDENTITY_MAX = 512;

/** Characters allowed in a named string field (catalog, agent, session, check bodies). */
export const STRING_LIMITS: Readonly<Record<string, number>> = {
  Node: IDENTITY_MAX,
  Address: IDENTITY_MAX,
  ID: IDENTITY_MAX,
  Service: IDENTITY_MAX,
  Name: IDENTITY_MAX,
  Kind: IDENTITY_MAX,
  CheckID: IDENTITY_MAX,
  ServiceID: IDENTITY_MAX,
  ServiceName: IDENTITY_MAX,
  Datacenter: IDENTITY_MAX,
  Status: IDENTITY_MAX,
  Type: IDENTITY_MAX,
  SocketPath: IDENTITY_MAX,
  Notes: 64 * 1024,
  Output: 64 * 1024,
};

/** List fields: the most entries and the longest entry. */
export const LIST_LIMITS: Readonly<Record<string, { count: number; entry: number }>> = {
  Tags: { count: 256, entry: IDENTITY_MAX },
  ServiceTags: { count: 256, entry: IDENTITY_MAX },
};

/** Consul's metaMaxKeyPairs, metaKeyMaxLength, metaValueMaxLength. */
export const META_LIMITS = { pairs: 64, key: 128, value: 512 } as const;

/** The problem with a string field's length, or null. */
export function stringProblem(name: string, v: string): string | null {
  const limit = STRING_LIMITS[name] ?? GENERIC_STRING_MAX;
  return v.length > limit ? `${name} is too long (${v.length} characters; limit: ${limit} characters)` : null;
}

export function listProblem(name: string, v: readonly string[]): string | null {
  const l = LIST_LIMITS[name] ?? { count: 65536, entry: GENERIC_STRING_MAX };
  if (v.length > l.count) return `${name} has too many entries (${v.length}; limit: ${l.count})`;
  for (const e of v) if (e.length > l.entry) return `${name} entry is too long (${e.length} characters; limit: ${l.entry} characters)`;
  return null;
}

/** Consul's texts for Meta (ValidateServiceMetadata / ValidateNodeMetadata), led by the field. */
const META_LABEL: Readonly<Record<string, string>> = { Meta: "Invalid Service Meta", NodeMeta: "Invalid NodeMeta" };

/** The problem with a string map's size, or null; Meta and NodeMeta get Consul's limits and texts. */
export function mapProblem(name: string, v: Readonly<Record<string, string>>): string | null {
  const label = META_LABEL[name];
  const keys = Object.keys(v);
  if (label !== undefined) {
    if (keys.length > META_LIMITS.pairs) return `${label}: Node metadata cannot contain more than ${META_LIMITS.pairs} key/value pairs`;
    for (const k of keys) {
      if (k.length > META_LIMITS.key) return `${label}: Key is too long (limit: ${META_LIMITS.key} characters)`;
      if (v[k]!.length > META_LIMITS.value) return `${label}: Value is too long (limit: ${META_LIMITS.value} characters)`;
    }
    return null;
  }
  for (const k of keys) {
    if (k.length > IDENTITY_MAX) return `${name} key is too long (limit: ${IDENTITY_MAX} characters)`;
    if (v[k]!.length > GENERIC_STRING_MAX) return `${name}.${k} is too long (${v[k]!.length} characters; limit: ${GENERIC_STRING_MAX} characters)`;
  }
  return null;
}

/**
 * The first string anywhere in a decoded body longer than the generic cap,
 * as `path is too long (...)`, or null. Iterative: depth cannot overflow.
 */
export function oversizedString(value: unknown, root = "body"): string | null {
  const stack: [unknown, string][] = [[value, root]];
  while (stack.length > 0) {
    const [v, path] = stack.pop()!;
    if (typeof v === "string") {
      if (v.length > GENERIC_STRING_MAX) return `${path} is too long (${v.length} characters; limit: ${GENERIC_STRING_MAX} characters)`;
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => stack.push([x, `${path}[${i}]`]));
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k.length > GENERIC_STRING_MAX) return `${path} has a key that is too long (limit: ${GENERIC_STRING_MAX} characters)`;
        stack.push([x, path === "" ? k : `${path}.${k}`]);
      }
    }
  }
  return null;
}

/** A list anywhere in a body may hold at most this many entries unless LIST_LIMITS names it. */
export const MAX_LIST_ENTRIES = 4096;

/** A KV key in a body (txn): about what a request line lets a key in a URL be. */
export const KEY_MAX = 16 * 1024;

/**
 * Fields checked wherever they appear in a body, by lower-cased name (Go's
 * decoding matches names without case): names and addresses that become
 * identities in the state store, and KV keys.
 */
const FIELD_LIMITS: ReadonlyMap<string, number> = new Map<string, number>([
  ...["node", "address", "id", "name", "service", "serviceid", "servicename", "checkid", "kind", "datacenter", "sourcename", "destinationname", "sourcens", "destinationns", "sourcepeer", "namespace", "partition"].map((k) => [k, IDENTITY_MAX] as [string, number]),
  ["key", KEY_MAX],
]);

/** Fields whose size the endpoint checks against its own configured limit (txn KV values: `kv_max_value_size`). */
const OWN_LIMIT = new Set(["value"]);

const LIST_BY_LOWER: ReadonlyMap<string, { count: number; entry: number }> = new Map(Object.entries(LIST_LIMITS).map(([k, v]) => [k.toLowerCase(), v]));

/**
 * The first field anywhere in a decoded JSON body over its size limit, as
 * `path is too long (...)` or `path has too many entries (...)`, or null:
 * identity fields and keys by name, lists by count, any other string by the
 * generic cap. Iterative, so depth cannot overflow.
 */
export function bodyProblem(value: unknown): string | null {
  // Each value with its path, the lower-cased name of its field, and whether it is an entry of that field's list.
  const stack: [unknown, string, string, boolean][] = [[value, "body", "", false]];
  while (stack.length > 0) {
    const [v, path, key, entry] = stack.pop()!;
    if (typeof v === "string") {
      if (OWN_LIMIT.has(key)) continue;
      const limit = (entry ? LIST_BY_LOWER.get(key)?.entry : FIELD_LIMITS.get(key)) ?? GENERIC_STRING_MAX;
      if (v.length > limit) return `${path}${entry ? " entry" : ""} is too long (${v.length} characters; limit: ${limit} characters)`;
    } else if (Array.isArray(v)) {
      const limit = LIST_BY_LOWER.get(key)?.count ?? MAX_LIST_ENTRIES;
      if (v.length > limit) return `${path} has too many entries (${v.length}; limit: ${limit})`;
      for (const x of v) stack.push([x, path, key, true]);
    } else if (v !== null && typeof v === "object") {
      for (const [k, x] of Object.entries(v)) {
        if (k.length > GENERIC_STRING_MAX) return `${path} has a key that is too long (limit: ${GENERIC_STRING_MAX} characters)`;
        stack.push([x, path === "body" ? k : `${path}.${k}`, k.toLowerCase(), false]);
      }
    }
  }
  return null;
}
