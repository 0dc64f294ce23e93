/**
 * Snapshot.* endpoints (Consul streams these over its RPC port; here the
 * archive travels as one reply): Save builds the archive of the current
 * state, Restore checks an archive whole and replaces the state with it
 * through one log entry. A bad archive is a BadRequestError, and nothing is
 * written.
 */
import { blockingRead } from "./read.ts";
import { type Server, SnapshotStateError } from "../server.ts";
import { BadRequestError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { type RaftServerEntry, readArchive, SnapshotArchiveError, snapshotMeta, writeArchive } from "../../snapshot/mod.ts";

/** The servers as the catalog lists them (each server registers itself as the "consul" service). */
function serversOf(s: Server): RaftServerEntry[] {
  const t = s.state.t;
  const servers = t.instancesOf("consul").map((row) => {
    const node = t.nodes.get(row.Node);
    const address = row.Service.Address || node?.Address || "";
    return { Suffrage: 0, ID: node?.ID || row.Node, Address: `${address}:${row.Service.Port}` };
  });
  if (servers.length > 0) return servers;
  return [{ Suffrage: 0, ID: s.config.nodeId, Address: `${s.config.advertiseAddr}:${s.config.serverPort}` }];
}

export function save(s: Server, _a: Record<string, never>, o: RequestOptions): MaybePromise<QueryReply<Uint8Array>> {
  return blockingRead(s, { ...o, minIndex: 0 }, () => [], () => {
    const index = s.state.lastApplied;
    const state = s.state.snapshot();
    const now = s.clock.now();
    return { index, value: writeArchive(snapshotMeta({ index, servers: serversOf(s), size: state.length, nowMs: now }), state, now) };
  });
}

export async function restore(s: Server, a: { readonly Archive: Uint8Array }, o: RequestOptions): Promise<true> {
  if (o.consistency === "stale") throw new BadRequestError("stale not allowed for restore");
  try {
    await s.restore(readArchive(a.Archive).state);
  } catch (err) {
    if (err instanceof SnapshotArchiveError || err instanceof SnapshotStateError) throw new BadRequestError(err.message, { cause: err });
    throw err;
  }
  return true;
}
