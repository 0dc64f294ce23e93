/** Operator.Raft* endpoints (Consul's agent/consul/operator_raft_endpoint.go) over the cluster's server list. */
import { blockingRead } from "./read.ts";
import { ApplyError, type Server } from "../server.ts";
import type { RaftConfiguration } from "../../rpc/methods.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";

export function raftGetConfiguration(s: Server, _a: unknown, o: RequestOptions): MaybePromise<QueryReply<RaftConfiguration>> {
  return blockingRead(s, { ...o, minIndex: 0 }, () => [], () => {
    const leader = s.leaderAddress();
    const Servers = s.peers().map((p) => ({
      ID: p.ID,
      Node: p.Node,
      Address: p.Address,
      Leader: p.Address === leader,
      ProtocolVersion: "3",
      Voter: true,
    }));
    return { index: s.lastIndex(), value: { Servers, Index: s.lastIndex() } };
  });
}

export async function raftRemovePeer(s: Server, a: { readonly ID: string; readonly Address: string }): Promise<true> {
  const what = a.ID !== "" ? `id "${a.ID}"` : `address "${a.Address}"`;
  if (a.ID === s.config.nodeId || a.Address === `${s.config.advertiseAddr}:${s.config.serverPort}`) {
    throw new ApplyError(`cannot remove ${what}: it is the server answering; stop it or ask another server`);
  }
  const removed = s.cluster ? await s.cluster.removePeer(a.ID !== "" ? { id: a.ID } : { address: a.Address }) : false;
  if (!removed) throw new ApplyError(`${what} was not found in the Raft configuration`);
  return true;
}
