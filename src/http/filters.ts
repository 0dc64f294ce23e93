/** The deprecated-but-used `?tag=` and `?node-meta=` filters. */

/** Keeps rows that carry every `?tag=` (compared case-insensitively, as Consul does). */
export function tagFilter<T>(rows: T[], url: URL, tags: (row: T) => readonly string[]): T[] {
  const wanted = url.searchParams.getAll("tag").map((t) => t.toLowerCase());
  if (wanted.length === 0) return rows;
  return rows.filter((r) => {
    const have = new Set(tags(r).map((t) => t.toLowerCase()));
    return wanted.every((t) => have.has(t));
  });
}

/** The `?node-meta=key:value` pairs (a value-less key matches an empty value). */
export function nodeMetaPairs(url: URL): [string, string][] {
  if (url.search === "") return [];
  return url.searchParams.getAll("node-meta").map((kv) => {
    const at = kv.indexOf(":");
    return at < 0 ? [kv, ""] : [kv.slice(0, at), kv.slice(at + 1)];
  });
}

/** Keeps rows whose node meta matches every `?node-meta=key:value`. */
export function nodeMetaFilter<T>(rows: T[], url: URL, meta: (row: T) => Record<string, string>): T[] {
  const pairs = nodeMetaPairs(url);
  if (pairs.length === 0) return rows;
  return rows.filter((r) => {
    const m = meta(r);
    return pairs.every(([k, v]) => m[k!] === v);
  });
}
