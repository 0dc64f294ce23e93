/** Txn.* endpoints (Consul's agent/consul/txn_endpoint.go). */
import type { Server } from "../server.ts";
import { blockingRead } from "./read.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { MessageType, type TxnError, type TxnOp, type TxnOutcome } from "../../state/mod.ts";
import { KvVerb } from "../../structs/kv.ts";

export async function apply(s: Server, a: { readonly Ops: TxnOp[] }): Promise<TxnOutcome> {
  // Lock-delay runs on the leader's wall clock, so Consul checks it before the log.
  const now = s.clock.now();
  const refused: TxnError[] = [];
  a.Ops.forEach((op, i) => {
    if ("KV" in op && op.KV.Verb === KvVerb.Lock && (s.state.t.lockDelay.get(op.KV.Entry.Key) ?? 0) > now) {
      refused.push({ OpIndex: i, What: `failed to lock key "${op.KV.Entry.Key}" due to lock delay` });
    }
  });
  if (refused.length > 0) return { results: [], errors: refused };
  const r = await s.mustWrite({ Type: MessageType.Txn, Now: now, Ops: a.Ops });
  return r.value as TxnOutcome;
}

export function read(s: Server, a: { readonly Ops: TxnOp[] }, o: RequestOptions): MaybePromise<QueryReply<TxnOutcome>> {
  return blockingRead(s, { ...o, minIndex: 0 }, () => [], () => ({ index: s.lastIndex(), value: s.state.readTxn(a.Ops) }));
}
