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
