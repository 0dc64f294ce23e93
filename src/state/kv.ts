/** KV table: reads and the write verbs `apply` runs (Consul's state/kvs.go). */
import type { KvCommandEntry } from "./commands.ts";
import { bump, StateError, touchKey, type WriteContext } from "./context.ts";
import { invalidLockDelayActive } from "./lock_delay.ts";
import type { KvRow, Tables } from "./tables.ts";
import { KvVerb } from "../structs/kv.ts";
import { decodeBase64 } from "../structs/json.ts";

export const KV_TABLE = "kvs";

function valueOf(e: KvCommandEntry): Uint8Array | null {
  return e.Value === null ? null : decodeBase64(e.Value);
}

function live(t: Tables, key: string): KvRow | undefined {
  const row = t.kvs.get(key);
  return row && !row.Tombstone ? row : undefined;
}

function sameBytes(a: Uint8Array | null, b: Uint8Array | null): boolean {
  const x = a ?? new Uint8Array(0);
  const y = b ?? new Uint8Array(0);
  return x.length === y.length && x.every((v, i) => v === y[i]);
}

/**
 * Writes a row unless it equals the live one (Consul's DirEntry.Equal: value,
 * flags, session, lock index), in which case nothing changes, not even indexes.
 */
function put(ctx: WriteContext, row: Omit<KvRow, "ModifyIndex" | "CreateIndex"> & { CreateIndex?: number }): void {
  const existing = live(ctx.t, row.Key);
  if (
    existing &&
    existing.Flags === row.Flags &&
    existing.Session === row.Session &&
    existing.LockIndex === row.LockIndex &&
    sameBytes(existing.Value, row.Value)
  ) {
    return;
  }
  ctx.t.kvs.set(row.Key, {
    Key: row.Key,
    Value: row.Value,
    Flags: row.Flags,
    Session: row.Session,
    LockIndex: row.LockIndex,
    CreateIndex: row.CreateIndex ?? ctx.index,
    ModifyIndex: ctx.index,
  });
  bump(ctx, KV_TABLE);
  touchKey(ctx, row.Key);
}

/** Deletes a live key, leaving a tombstone that carries the delete's index. */
export function kvRemove(ctx: WriteContext, key: string): boolean {
  const row = live(ctx.t, key);
  if (!row) return false;
  ctx.t.kvs.set(key, { ...row, Value: null, Session: "", Tombstone: true, ModifyIndex: ctx.index });
  bump(ctx, KV_TABLE);
  touchKey(ctx, key);
  return true;
}

/**
 * A plain write keeps the key's holder but, as Consul's kvsSetTxn does, takes
 * LockIndex from the request, which never carries one: it becomes 0.
 */
export function kvSet(ctx: WriteContext, e: KvCommandEntry): boolean {
  const existing = live(ctx.t, e.Key);
  put(ctx, {
    Key: e.Key,
    Value: valueOf(e),
    Flags: BigInt(e.Flags),
    Session: existing?.Session ?? "",
    LockIndex: 0,
    CreateIndex: existing?.CreateIndex,
  });
  return true;
}

export function kvCas(ctx: WriteContext, e: KvCommandEntry): boolean {
  const existing = live(ctx.t, e.Key);
  if (e.ModifyIndex === 0 ? existing !== undefined : existing?.ModifyIndex !== e.ModifyIndex) return false;
  return kvSet(ctx, e);
}

export function kvLock(ctx: WriteContext, e: KvCommandEntry): boolean {
  // Consul refuses a lock inside a lock-delay before it looks at the session.
  if (invalidLockDelayActive(ctx.t, e.Key, ctx.now)) return false;
  if (e.Session === "") throw new StateError("missing session");
  if (!ctx.t.sessions.has(e.Session)) throw new StateError(`invalid session "${e.Session}"`);
  const existing = live(ctx.t, e.Key);
  let lockIndex = 1;
  if (existing) {
    if (existing.Session === e.Session) lockIndex = existing.LockIndex;
    else if (existing.Session !== "") return false;
    else lockIndex = existing.LockIndex + 1;
  }
  put(ctx, {
    Key: e.Key,
    Value: valueOf(e),
    Flags: BigInt(e.Flags),
    Session: e.Session,
    LockIndex: lockIndex,
    CreateIndex: existing?.CreateIndex,
  });
  return true;
}

export function kvUnlock(ctx: WriteContext, e: KvCommandEntry): boolean {
  if (e.Session === "") throw new StateError("missing session");
  const existing = live(ctx.t, e.Key);
  if (!existing || existing.Session !== e.Session) return false;
  put(ctx, { ...existing, Value: valueOf(e), Flags: BigInt(e.Flags), Session: "" });
  return true;
}

export function kvDeleteCas(ctx: WriteContext, e: KvCommandEntry): boolean {
  const existing = live(ctx.t, e.Key);
  if (!existing || existing.ModifyIndex !== e.ModifyIndex) return existing === undefined;
  return kvRemove(ctx, e.Key) || true;
}

/**
 * Removes every live key under `prefix` and, as Consul does, leaves a single
 * tombstone at the prefix itself (none when the whole store is emptied), so a
 * list of the prefix keeps its index while a narrower one falls back to the
 * table index.
 */
export function kvDeleteTree(ctx: WriteContext, prefix: string): boolean {
  const doomed = [...ctx.t.kvKeys.withPrefix(prefix)].filter((key) => live(ctx.t, key) !== undefined);
  if (doomed.length === 0) return true;
  for (const key of doomed) {
    ctx.t.kvs.delete(key);
    touchKey(ctx, key);
  }
  if (prefix !== "") {
    ctx.t.kvs.set(prefix, { Key: prefix, Value: null, Flags: 0n, Session: "", LockIndex: 0, CreateIndex: ctx.index, ModifyIndex: ctx.index, Tombstone: true });
  }
  bump(ctx, KV_TABLE);
  return true;
}

/** Applies one KV write verb; returns Consul's boolean outcome. */
export function applyKvVerb(ctx: WriteContext, verb: string, e: KvCommandEntry): boolean {
  switch (verb) {
    case KvVerb.Set:
      return kvSet(ctx, e);
    case KvVerb.Cas:
      return kvCas(ctx, e);
    case KvVerb.Lock:
      return kvLock(ctx, e);
    case KvVerb.Unlock:
      return kvUnlock(ctx, e);
    case KvVerb.Delete:
      kvRemove(ctx, e.Key);
      return true;
    case KvVerb.DeleteCas:
      return kvDeleteCas(ctx, e);
    case KvVerb.DeleteTree:
      return kvDeleteTree(ctx, e.Key);
    default:
      throw new StateError(`Invalid KVS operation '${verb}'`);
  }
}

/** Drops tombstones at or below `reapIndex` (leader-driven, after TombstoneTTL). */
export function reapTombstones(ctx: WriteContext, reapIndex: number): void {
  for (const [key, row] of [...ctx.t.kvs.entries()]) {
    if (row.Tombstone && row.ModifyIndex <= reapIndex) ctx.t.kvs.delete(key);
  }
}

// ---- reads ----

export interface KvRead<T> {
  readonly index: number;
  readonly value: T;
}

/** One key; the index is the KV table's (as Consul answers). */
export function kvGet(t: Tables, key: string): KvRead<KvRow | null> {
  return { index: t.index(KV_TABLE), value: live(t, key) ?? null };
}

/** Live entries under a prefix; index = newest change under it, tombstones included. */
export function kvList(t: Tables, prefix: string): KvRead<KvRow[]> {
  const rows: KvRow[] = [];
  let max = 0;
  for (const key of t.kvKeys.withPrefix(prefix)) {
    const row = t.kvs.get(key)!;
    if (row.ModifyIndex > max) max = row.ModifyIndex;
    if (!row.Tombstone) rows.push(row);
  }
  return { index: prefix === "" || max === 0 ? t.index(KV_TABLE) : max, value: rows };
}

/** Keys under a prefix, rolled up at the first separator after it. */
export function kvKeys(t: Tables, prefix: string, separator: string): KvRead<string[]> {
  const { index, value } = kvList(t, prefix);
  const out: string[] = [];
  let last = "";
  for (const row of value) {
    let key = row.Key;
    if (separator !== "") {
      const at = key.indexOf(separator, prefix.length);
      if (at >= 0) key = key.slice(0, at + separator.length);
    }
    if (key !== last) out.push(key);
    last = key;
  }
  return { index, value: out };
}
