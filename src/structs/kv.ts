/** A KV entry as the state store keeps it (Consul's DirEntry). */
export interface DirEntry {
  readonly Key: string;
  readonly Value: Uint8Array | null;
  readonly Flags: bigint;
  readonly Session: string;
  readonly LockIndex: number;
  readonly CreateIndex: number;
  readonly ModifyIndex: number;
}

/** Verbs of a single-key KV write (Consul's api.KVOp). */
export const KvVerb = {
  Set: "set",
  Cas: "cas",
  Lock: "lock",
  Unlock: "unlock",
  Delete: "delete",
  DeleteCas: "delete-cas",
  DeleteTree: "delete-tree",
  Get: "get",
  GetOrEmpty: "get-or-empty",
  GetTree: "get-tree",
  CheckIndex: "check-index",
  CheckSession: "check-session",
  CheckNotExists: "check-not-exists",
} as const;
export type KvVerb = (typeof KvVerb)[keyof typeof KvVerb];

/** Wire form of a DirEntry: value base64, empty session omitted. */
export function dirEntryJson(e: DirEntry, encode: (v: Uint8Array) => string): Record<string, unknown> {
  const out: Record<string, unknown> = {
    LockIndex: e.LockIndex,
    Key: e.Key,
    Flags: e.Flags,
    Value: e.Value === null ? null : encode(e.Value),
  };
  if (e.Session !== "") out.Session = e.Session;
  out.CreateIndex = e.CreateIndex;
  out.ModifyIndex = e.ModifyIndex;
  return out;
}
