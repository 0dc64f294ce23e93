/**
 * Transactions (`/v1/txn`): every op runs in one apply; any error rolls the
 * whole entry back. Error texts follow Consul's state/txn.go.
 */
import { deleteCheck, deleteNode, deleteService, ensureCheck, ensureNode, ensureService } from "./catalog.ts";
import type { TxnOp } from "./commands.ts";
import { StateError, type WriteContext } from "./context.ts";
import { applyKvVerb, kvGet, kvList } from "./kv.ts";
import { invalidLockDelayActive } from "./lock_delay.ts";
import { nodeKey, type KvRow } from "./tables.ts";
import type { HealthCheck, Node, NodeService } from "../structs/catalog.ts";
import { KvVerb } from "../structs/kv.ts";

export type TxnResult =
  | { KV: KvRow & { Value: Uint8Array | null } }
  | { Node: Node }
  | { Service: NodeService }
  | { Check: HealthCheck };

export interface TxnError {
  OpIndex: number;
  What: string;
}

export interface TxnOutcome {
  results: TxnResult[];
  errors: TxnError[];
}

const READ_VERBS = new Set<string>([KvVerb.Get, KvVerb.GetOrEmpty, KvVerb.GetTree, KvVerb.CheckIndex, KvVerb.CheckSession, KvVerb.CheckNotExists, "get"]);
const KV_WRITE_VERBS = new Set<string>([KvVerb.Set, KvVerb.Cas, KvVerb.Lock, KvVerb.Unlock, KvVerb.Delete, KvVerb.DeleteCas, KvVerb.DeleteTree]);

/** True when no op of the transaction writes. */
export function isReadOnlyTxn(ops: TxnOp[]): boolean {
  return ops.every((op) => {
    if ("KV" in op) return READ_VERBS.has(op.KV.Verb);
    if ("Node" in op) return op.Node.Verb === "get";
    if ("Service" in op) return op.Service.Verb === "get";
    return op.Check.Verb === "get";
  });
}

/** Runs all ops; the caller rolls back when `errors` is not empty. */
export function runTxn(ctx: WriteContext, ops: TxnOp[]): TxnOutcome {
  const results: TxnResult[] = [];
  const errors: TxnError[] = [];
  ops.forEach((op, i) => {
    try {
      results.push(...runOp(ctx, op));
    } catch (err) {
      if (!(err instanceof StateError)) throw err;
      errors.push({ OpIndex: i, What: err.message });
    }
  });
  return { results, errors };
}

function blank(row: KvRow): TxnResult {
  return { KV: { ...row, Value: null } };
}

function runOp(ctx: WriteContext, op: TxnOp): TxnResult[] {
  const { t } = ctx;
  if ("KV" in op) {
    const { Verb: verb, Entry: e } = op.KV;
    const current = kvGet(t, e.Key).value;
    switch (verb) {
      case KvVerb.Get:
        if (!current) throw new StateError(`key "${e.Key}" doesn't exist`);
        return [{ KV: current }];
      case KvVerb.GetOrEmpty:
        // Consul answers a missing key with the request's own entry, value emptied.
        return [{ KV: current ?? { Key: e.Key, Value: null, Flags: BigInt(e.Flags), Session: e.Session, LockIndex: 0, CreateIndex: 0, ModifyIndex: e.ModifyIndex } }];
      case KvVerb.GetTree:
        return kvList(t, e.Key).value.map((row) => ({ KV: row }));
      case KvVerb.CheckIndex:
        if (!current) throw new StateError(`failed to check index, key "${e.Key}" doesn't exist`);
        if (current.ModifyIndex !== e.ModifyIndex) {
          throw new StateError(`failed index check for key "${e.Key}", current modify index ${current.ModifyIndex} != ${e.ModifyIndex}`);
        }
        return [blank(current)];
      case KvVerb.CheckSession:
        if (!current) throw new StateError(`failed to check session, key "${e.Key}" doesn't exist`);
        if (current.Session !== e.Session) {
          throw new StateError(`failed session check for key "${e.Key}", current session "${current.Session}" != "${e.Session}"`);
        }
        return [blank(current)];
      case KvVerb.CheckNotExists:
        if (current) throw new StateError(`key "${e.Key}" exists`);
        return [];
    }
    if (!KV_WRITE_VERBS.has(verb)) throw new StateError(`unknown KV verb "${verb}"`);
    // Consul's txn pre-check rejects a lock inside a lock-delay with its own text.
    if (verb === KvVerb.Lock && invalidLockDelayActive(t, e.Key, ctx.now)) {
      throw new StateError(`failed to lock key "${e.Key}" due to lock delay`);
    }
    const ok = applyKvVerb(ctx, verb, e);
    if (!ok) {
      const why: Record<string, string> = {
        [KvVerb.Cas]: `failed to set key "${e.Key}", index is stale`,
        [KvVerb.Lock]: `failed to lock key "${e.Key}", lock is already held`,
        [KvVerb.Unlock]: `failed to unlock key "${e.Key}", lock isn't held, or is held by another session`,
        [KvVerb.DeleteCas]: `failed to delete key "${e.Key}", index is stale`,
      };
      throw new StateError(why[verb] ?? `failed to apply "${verb}" to key "${e.Key}"`);
    }
    if (verb === KvVerb.Delete || verb === KvVerb.DeleteCas || verb === KvVerb.DeleteTree) return [];
    return [blank(kvGet(t, e.Key).value!)];
  }
  if ("Node" in op) {
    const { Verb: verb, Index: cas } = op.Node;
    // Node names, service and check IDs match case-insensitively, as in the catalog.
    const n = { ...op.Node.Node, Node: t.nodeName(op.Node.Node.Node) };
    const existing = t.nodes.get(n.Node);
    switch (verb) {
      case "get":
        if (!existing) throw new StateError(`node "${n.Node}" doesn't exist`);
        return [{ Node: existing }];
      case "cas":
        if (cas === 0 ? existing : existing?.ModifyIndex !== cas) throw new StateError(`failed to set node "${n.Node}", index is stale`);
      // falls through
      case "set":
        ensureNode(ctx, { ID: n.ID, Node: n.Node, Address: n.Address, Datacenter: n.Datacenter, TaggedAddresses: n.TaggedAddresses, Meta: n.NodeMeta });
        return [{ Node: t.nodes.get(n.Node)! }];
      case "delete-cas":
        if (!existing || existing.ModifyIndex !== cas) throw new StateError(`failed to delete node "${n.Node}", index is stale`);
      // falls through
      case "delete":
        deleteNode(ctx, n.Node);
        return [];
      default:
        throw new StateError(`unknown Node verb "${verb}"`);
    }
  }
  if ("Service" in op) {
    const { Verb: verb, Index: cas } = op.Service;
    const node = t.nodeName(op.Service.Node);
    const s = { ...op.Service.Service, ID: t.serviceId(node, op.Service.Service.ID) };
    const existing = t.services.get(nodeKey(node, s.ID))?.Service;
    switch (verb) {
      case "get":
        if (!existing) throw new StateError(`service "${s.ID}" on node "${node}" doesn't exist`);
        return [{ Service: existing }];
      case "cas":
        if (cas === 0 ? existing : existing?.ModifyIndex !== cas) throw new StateError(`failed to set service "${s.ID}" on node "${node}", index is stale`);
      // falls through
      case "set":
        ensureService(ctx, node, s);
        return [{ Service: t.services.get(nodeKey(node, s.ID))!.Service }];
      case "delete-cas":
        if (!existing || existing.ModifyIndex !== cas) throw new StateError(`failed to delete service "${s.ID}" on node "${node}", index is stale`);
      // falls through
      case "delete":
        deleteService(ctx, node, s.ID);
        return [];
      default:
        throw new StateError(`unknown Service verb "${verb}"`);
    }
  }
  const { Verb: verb, Index: cas } = op.Check;
  const checkNode = t.nodeName(op.Check.Check.Node);
  const c = { ...op.Check.Check, Node: checkNode, CheckID: t.checkId(checkNode, op.Check.Check.CheckID) };
  const existing = t.checks.get(nodeKey(c.Node, c.CheckID));
  switch (verb) {
    case "get":
      if (!existing) throw new StateError(`check "${c.CheckID}" on node "${c.Node}" doesn't exist`);
      return [{ Check: existing }];
    case "cas":
      if (cas === 0 ? existing : existing?.ModifyIndex !== cas) throw new StateError(`failed to set check "${c.CheckID}" on node "${c.Node}", index is stale`);
    // falls through
    case "set":
      ensureCheck(ctx, c);
      return [{ Check: t.checks.get(nodeKey(c.Node, c.CheckID))! }];
    case "delete-cas":
      if (!existing || existing.ModifyIndex !== cas) throw new StateError(`failed to delete check "${c.CheckID}" on node "${c.Node}", index is stale`);
    // falls through
    case "delete":
      deleteCheck(ctx, c.Node, c.CheckID);
      return [];
    default:
      throw new StateError(`unknown Check verb "${verb}"`);
  }
}

