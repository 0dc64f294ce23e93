/** Whole-state snapshots: every table as JSON, secondary indexes rebuilt on load. */
import { cmp, Tables, type KvRow } from "./tables.ts";
import { decodeBase64, encodeBase64 } from "../structs/json.ts";

interface SnapshotFile {
  Version: 1;
  Index: number;
  Indexes: [string, number][];
  KV: (Omit<KvRow, "Value" | "Flags"> & { Value: string | null; Flags: string })[];
  LockDelay: [string, number][];
  Nodes: unknown[];
  Services: unknown[];
  Checks: unknown[];
  Sessions: unknown[];
}

/**
 * Rows in key order: a Map's order records its history (a rolled-back delete
 * re-inserts at the end), and the same state must give the same bytes.
 */
function byKey<V>(entries: Iterable<[string, V]>): [string, V][] {
  return [...entries].sort((a, b) => cmp(a[0], b[0]));
}

const rows = <V>(entries: Iterable<[string, V]>): V[] => byKey(entries).map(([, v]) => v);

export function encodeSnapshot(t: Tables, index: number): Uint8Array {
  const file: SnapshotFile = {
    Version: 1,
    Index: index,
    Indexes: byKey(t.indexes.entries()),
    KV: rows(t.kvs.entries()).map((r) => ({ ...r, Value: r.Value === null ? null : encodeBase64(r.Value), Flags: r.Flags.toString() })),
    LockDelay: byKey(t.lockDelay.entries()),
    Nodes: rows(t.nodes.entries()),
    Services: rows(t.services.entries()),
    Checks: rows(t.checks.entries()),
    Sessions: rows(t.sessions.entries()),
  };
  return new TextEncoder().encode(JSON.stringify(file));
}

export function decodeSnapshot(data: Uint8Array): { tables: Tables; index: number } {
  const file = JSON.parse(new TextDecoder().decode(data)) as SnapshotFile;
  if (file.Version !== 1) throw new RangeError(`Unsupported snapshot version: ${String(file.Version)}`);
  const t = new Tables();
  t.indexes.reset(file.Indexes);
  t.kvs.reset(file.KV.map((r) => [r.Key, { ...r, Value: r.Value === null ? null : decodeBase64(r.Value), Flags: BigInt(r.Flags) }]));
  t.lockDelay.reset(file.LockDelay);
  t.nodes.reset((file.Nodes as Tables["nodes"] extends { get(k: string): infer V } ? NonNullable<V>[] : never).map((n) => [n.Node, n]));
  t.services.reset((file.Services as { Node: string; Service: { ID: string } }[]).map((s) => [`${s.Node}\u0000${s.Service.ID}`, s as never]));
  t.checks.reset((file.Checks as { Node: string; CheckID: string }[]).map((c) => [`${c.Node}\u0000${c.CheckID}`, c as never]));
  t.sessions.reset((file.Sessions as { ID: string }[]).map((s) => [s.ID, s as never]));
  return { tables: t, index: file.Index };
}
