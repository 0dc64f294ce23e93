/**
 * Operator.Autopilot* endpoints (Consul's agent/consul/operator_autopilot_endpoint.go).
 * The configuration lives in the replicated state; health and state are this
 * server's view of the server list. Consulate has no Raft followers to probe:
 * the shared log (JetStream or the local log) keeps every server it lists in
 * step, so a listed server is reported healthy and a voter, LastContact is
 * "0s", LastTerm is 0 (the log has no terms), LastIndex is this server's
 * applied index, and StableSince is Go's zero time (not tracked).
 */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import type { Empty } from "../../rpc/methods.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { AUTOPILOT_TABLE, autopilotConfig, MessageType } from "../../state/mod.ts";
import { AUTOPILOT_DEFAULTS, type AutopilotConfigBody, type AutopilotConfigRow } from "../../structs/autopilot.ts";
import { CONSUL_VERSION } from "../../version.ts";

const ZERO_TIME = "0001-01-01T00:00:00Z";

export function autopilotGetConfiguration(s: Server, _a: Empty, o: RequestOptions): MaybePromise<QueryReply<AutopilotConfigRow>> {
  return blockingRead(s, o, () => [AUTOPILOT_TABLE], () => {
    const { index, value } = autopilotConfig(s.state.t);
    return { index, value: value ?? { ...AUTOPILOT_DEFAULTS, CreateIndex: 0, ModifyIndex: 0 } };
  });
}

/** Stores the configuration; with `CAS`, only if its ModifyIndex is still `CAS`. Answers whether it was stored. */
export async function autopilotSetConfiguration(s: Server, a: { readonly Config: AutopilotConfigBody; readonly CAS?: number }): Promise<boolean> {
  const r = await s.mustWrite({ Type: MessageType.Autopilot, Now: s.clock.now(), Config: a.Config, ...(a.CAS === undefined ? {} : { CAS: a.CAS }) });
  return r.value === true;
}

export interface ServerHealth {
  ID: string;
  Name: string;
  Address: string;
  SerfStatus: string;
  Version: string;
  Leader: boolean;
  LastContact: string;
  LastTerm: number;
  LastIndex: number;
  Healthy: boolean;
  Voter: boolean;
  StableSince: string;
}

export interface OperatorHealthReply {
  Healthy: boolean;
  FailureTolerance: number;
  Servers: ServerHealth[];
}

export function serverHealth(s: Server): OperatorHealthReply {
  const leader = s.leaderAddress();
  const index = s.lastIndex();
  const Servers = s.peers().map((p) => ({
    ID: p.ID,
    Name: p.Node,
    Address: p.Address,
    SerfStatus: "alive",
    Version: CONSUL_VERSION,
    Leader: leader !== "" && p.Address === leader,
    LastContact: "0s",
    LastTerm: 0,
    LastIndex: index,
    Healthy: true,
    Voter: true,
    StableSince: ZERO_TIME,
  }));
  const Healthy = leader !== "" && Servers.length > 0;
  const voters = Servers.length;
  return { Healthy, FailureTolerance: Healthy ? Math.floor((voters - 1) / 2) : 0, Servers };
}

export interface AutopilotServerState {
  ID: string;
  Name: string;
  Address: string;
  NodeStatus: string;
  Version: string;
  LastContact: string;
  LastTerm: number;
  LastIndex: number;
  Healthy: boolean;
  StableSince: string;
  ReadReplica: boolean;
  Status: "leader" | "voter";
  Meta: Record<string, string>;
  NodeType: "voter";
}

export interface AutopilotStateReply {
  Healthy: boolean;
  FailureTolerance: number;
  OptimisticFailureTolerance: number;
  Servers: Record<string, AutopilotServerState>;
  Leader: string;
  Voters: string[];
}

/** Consul's AutopilotState, from the same view as the health reply. */
export function autopilotState(s: Server): AutopilotStateReply {
  const h = serverHealth(s);
  const Servers: Record<string, AutopilotServerState> = {};
  for (const v of h.Servers) {
    Servers[v.ID] = {
      ID: v.ID,
      Name: v.Name,
      Address: v.Address,
      NodeStatus: v.SerfStatus,
      Version: v.Version,
      LastContact: v.LastContact,
      LastTerm: v.LastTerm,
      LastIndex: v.LastIndex,
      Healthy: v.Healthy,
      StableSince: v.StableSince,
      ReadReplica: false,
      Status: v.Leader ? "leader" : "voter",
      Meta: {},
      NodeType: "voter",
    };
  }
  return {
    Healthy: h.Healthy,
    FailureTolerance: h.FailureTolerance,
    OptimisticFailureTolerance: h.FailureTolerance,
    Servers,
    Leader: h.Servers.find((v) => v.Leader)?.ID ?? "",
    Voters: h.Servers.map((v) => v.ID).sort(),
  };
}
