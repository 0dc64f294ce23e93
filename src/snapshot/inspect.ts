/**
 * What `consulate snapshot inspect` reports about a state snapshot: records
 * per type with their sizes (Consul's type names where the record is the same
 * kind: KVS, Tombstone, Register, Session, Index), and optionally KV usage by
 * key prefix. Sizes are the bytes of each record in state.bin.
 */
import type { SnapshotMeta } from "./meta.ts";

export interface TypeStats {
  Name: string;
  Sum: number;
  Count: number;
}

export interface InspectOutput {
  Meta: { ID: string; Size: number; Index: number; Term: number; Version: number };
  Stats: TypeStats[];
  StatsKV?: TypeStats[];
  TotalSize: number;
  TotalSizeKV?: number;
}

export interface InspectOptions {
  /** Break KV usage down by key prefix (`-kvdetails`). */
  readonly kvDetails?: boolean;
  /** Prefix depth of the breakdown (`-kvdepth`, default 2). */
  readonly kvDepth?: number;
  /** Only keys with this prefix (`-kvfilter`). */
  readonly kvFilter?: string;
}

/** Consul's message-type name for the records of each state table. */
const TYPE_NAMES: Readonly<Record<string, string>> = {
  Indexes: "Index",
  Nodes: "Register",
  Services: "Register",
  Checks: "Register",
  Sessions: "Session",
  LockDelay: "LockDelay",
  Coordinates: "CoordinateBatchUpdate",
  PreparedQueries: "PreparedQuery",
  ConfigEntries: "ConfigEntry",
  Intentions: "Intention",
};

/** The state is not one of Consulate's (Consul's own state.bin is a msgpack stream). */
export class SnapshotStateFormatError extends Error {
  override readonly name = "SnapshotStateFormatError";
}

const byteLength = (text: string): number => new TextEncoder().encode(text).length;

function sortStats(stats: Iterable<TypeStats>): TypeStats[] {
  return [...stats].sort((a, b) => (a.Sum === b.Sum ? (a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0) : b.Sum - a.Sum));
}

export function inspectState(meta: SnapshotMeta, state: Uint8Array, options: InspectOptions = {}): InspectOutput {
  let file: unknown;
  try {
    file = JSON.parse(new TextDecoder().decode(state));
  } catch {
    throw new SnapshotStateFormatError("state.bin is not a Consulate state snapshot (Consul's own snapshots cannot be read)");
  }
  if (typeof file !== "object" || file === null || Array.isArray(file) || !("Version" in file)) {
    throw new SnapshotStateFormatError("state.bin is not a Consulate state snapshot (Consul's own snapshots cannot be read)");
  }
  const stats = new Map<string, TypeStats>();
  const kv = new Map<string, TypeStats>();
  let total = 0;
  let totalKv = 0;
  const depth = Math.max(1, options.kvDepth ?? 2);
  const filter = options.kvFilter ?? "";
  const add = (name: string, size: number) => {
    const s = stats.get(name) ?? { Name: name, Sum: 0, Count: 0 };
    s.Sum += size;
    s.Count++;
    stats.set(name, s);
    total += size;
  };
  for (const [field, rows] of Object.entries(file)) {
    if (!Array.isArray(rows)) continue;
    for (const row of rows as unknown[]) {
      const size = byteLength(JSON.stringify(row) ?? "null");
      if (field === "KV") {
        const r = row as { Key?: unknown; Tombstone?: unknown };
        if (r.Tombstone === true) {
          add("Tombstone", size);
          continue;
        }
        add("KVS", size);
        const key = typeof r.Key === "string" ? r.Key : "";
        if (options.kvDetails && key.startsWith(filter)) {
          const prefix = key.split("/").slice(0, depth).join("/");
          const s = kv.get(prefix) ?? { Name: prefix, Sum: 0, Count: 0 };
          s.Sum += size;
          s.Count++;
          kv.set(prefix, s);
          totalKv += size;
        }
        continue;
      }
      add(TYPE_NAMES[field] ?? field, size);
    }
  }
  const out: InspectOutput = {
    Meta: { ID: meta.ID, Size: meta.Size, Index: meta.Index, Term: meta.Term, Version: meta.Version },
    Stats: sortStats(stats.values()),
    TotalSize: total,
  };
  if (options.kvDetails) {
    out.StatsKV = sortStats(kv.values());
    out.TotalSizeKV = totalKv;
  }
  return out;
}

/** Go's humanised byte sizes as Consul's inspect prints them ("12.3KB", "285B", "0"). */
export function byteSize(bytes: number): string {
  const units: [number, string][] = [
    [1024 ** 4, "TB"],
    [1024 ** 3, "GB"],
    [1024 ** 2, "MB"],
    [1024, "KB"],
    [1, "B"],
  ];
  if (bytes === 0) return "0";
  for (const [size, unit] of units) {
    if (bytes >= size) return `${(bytes / size).toFixed(1).replace(/\.0$/, "")}${unit}`;
  }
  return "0";
}
