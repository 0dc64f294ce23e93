/**
 * meta.json of a snapshot archive: the fields of hashicorp/raft's
 * SnapshotMeta, which Consul writes there and `snapshot inspect` shows.
 */
import { encodeBase64 } from "../structs/json.ts";

export interface RaftServerEntry {
  /** 0 = voter, 1 = nonvoter, 2 = staging (raft.ServerSuffrage). */
  readonly Suffrage: number;
  readonly ID: string;
  readonly Address: string;
}

export interface SnapshotMeta {
  readonly Version: number;
  /** `<term>-<index>-<unix ms>`, as raft's file snapshot store names them. */
  readonly ID: string;
  readonly Index: number;
  readonly Term: number;
  /** Server addresses, msgpack-encoded (the pre-protocol-3 peer list), base64. */
  readonly Peers: string;
  readonly Configuration: { readonly Servers: readonly RaftServerEntry[] };
  readonly ConfigurationIndex: number;
  /** Bytes of state.bin. */
  readonly Size: number;
}

/** raft.SnapshotVersionMax, the version Consul writes. */
export const SNAPSHOT_VERSION = 1;

export function snapshotMeta(args: {
  index: number;
  term?: number;
  servers: readonly RaftServerEntry[];
  configurationIndex?: number;
  size: number;
  nowMs: number;
}): SnapshotMeta {
  const term = args.term ?? 1;
  return {
    Version: SNAPSHOT_VERSION,
    ID: `${term}-${args.index}-${args.nowMs}`,
    Index: args.index,
    Term: term,
    Peers: encodeBase64(msgpackStrings(args.servers.map((s) => s.Address))),
    Configuration: { Servers: args.servers },
    ConfigurationIndex: args.configurationIndex ?? 1,
    Size: args.size,
  };
}

/** A msgpack array of strings, which is all raft's legacy peer list holds. */
export function msgpackStrings(items: readonly string[]): Uint8Array {
  const out: number[] = [];
  const n = items.length;
  if (n < 16) out.push(0x90 | n);
  else out.push(0xdc, n >> 8, n & 0xff);
  for (const item of items) {
    const bytes = new TextEncoder().encode(item);
    const len = bytes.length;
    if (len < 32) out.push(0xa0 | len);
    else if (len < 256) out.push(0xd9, len);
    else out.push(0xda, len >> 8, len & 0xff);
    out.push(...bytes);
  }
  return new Uint8Array(out);
}

/** Checks the decoded meta.json has the fields a restore relies on. */
export function checkMeta(value: unknown): SnapshotMeta {
  const m = value as Partial<Record<keyof SnapshotMeta, unknown>> | null;
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw new TypeError("json: meta.json is not an object");
  for (const k of ["Version", "Index", "Term", "Size"] as const) {
    if (typeof m[k] !== "number" || !Number.isSafeInteger(m[k]) || (m[k] as number) < 0) {
      throw new TypeError(`json: field ${k} is ${JSON.stringify(m[k])}, not a non-negative integer`);
    }
  }
  return {
    Version: m.Version as number,
    ID: typeof m.ID === "string" ? m.ID : "",
    Index: m.Index as number,
    Term: m.Term as number,
    Peers: typeof m.Peers === "string" ? m.Peers : "",
    Configuration: { Servers: Array.isArray((m.Configuration as { Servers?: unknown } | undefined)?.Servers) ? (m.Configuration as { Servers: RaftServerEntry[] }).Servers : [] },
    ConfigurationIndex: typeof m.ConfigurationIndex === "number" ? m.ConfigurationIndex : 0,
    Size: m.Size as number,
  };
}
