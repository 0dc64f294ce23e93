/** KVS.* endpoints (Consul's agent/consul/kvs_endpoint.go). */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { type KvCommandEntry, kvGet, kvKeys, kvKeyTopic, kvList, kvPrefixTopic, type KvRow, MessageType } from "../../state/mod.ts";
import { KvVerb } from "../../structs/kv.ts";

/** The hottest read of the API: no closure, no promise unless it blocks. */
export function get(s: Server, a: { readonly Key: string }, o: RequestOptions): MaybePromise<QueryReply<KvRow | null>> {
  if (!s.cluster) {
    if (o.minIndex <= 0) return kvGet(s.state.t, a.Key);
    return s.query(o, [kvKeyTopic(a.Key)], () => kvGet(s.state.t, a.Key));
  }
  return blockingRead(s, o, () => [kvKeyTopic(a.Key)], () => kvGet(s.state.t, a.Key));
}

export function list(s: Server, a: { readonly Key: string }, o: RequestOptions): MaybePromise<QueryReply<KvRow[]>> {
  return blockingRead(s, o, () => [kvPrefixTopic(a.Key)], () => kvList(s.state.t, a.Key));
}

export function listKeys(s: Server, a: { readonly Prefix: string; readonly Separator: string }, o: RequestOptions): MaybePromise<QueryReply<string[]>> {
  return blockingRead(s, o, () => [kvPrefixTopic(a.Prefix)], () => kvKeys(s.state.t, a.Prefix, a.Separator));
}

/** Verbs whose answer is always true once applied; the others report whether they took effect. */
const ALWAYS_TRUE = new Set<string>([KvVerb.Set, KvVerb.Delete, KvVerb.DeleteTree]);

export async function apply(s: Server, a: { readonly Op: KvVerb; readonly Entry: KvCommandEntry }): Promise<boolean> {
  const r = await s.mustWrite({ Type: MessageType.KVS, Now: s.clock.now(), Op: a.Op, Entry: a.Entry });
  return ALWAYS_TRUE.has(a.Op) ? true : r.value === true;
}
