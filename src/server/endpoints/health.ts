/** Health.* endpoints (Consul's agent/consul/health_endpoint.go). */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import { BadRequestError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { catalogRead, type CheckServiceNode, nodeTopic, serviceTopic, Topic } from "../../state/mod.ts";
import type { HealthCheck } from "../../structs/catalog.ts";
import type { Near } from "../../rpc/methods.ts";
import { near } from "./rtt.ts";

const STATES = new Set(["any", "passing", "warning", "critical"]);

export function nodeChecks(s: Server, a: { readonly Node: string }, o: RequestOptions): MaybePromise<QueryReply<HealthCheck[]>> {
  return blockingRead(s, o, () => [nodeTopic(a.Node)], () => catalogRead.nodeChecks(s.state.t, a.Node));
}

export function serviceChecks(s: Server, a: { readonly ServiceName: string } & Near, o: RequestOptions): MaybePromise<QueryReply<HealthCheck[]>> {
  return blockingRead(s, o, () => [serviceTopic(a.ServiceName)], () => near(s, a, catalogRead.serviceChecks(s.state.t, a.ServiceName), (c) => c.Node));
}

export function checksInState(s: Server, a: { readonly State: string } & Near, o: RequestOptions): MaybePromise<QueryReply<HealthCheck[]>> {
  if (!STATES.has(a.State)) throw new BadRequestError(`Invalid check state: "${a.State}"`);
  return blockingRead(s, o, () => [Topic.Checks], () => near(s, a, catalogRead.checksInState(s.state.t, a.State), (c) => c.Node));
}

export function serviceNodes(s: Server, a: { readonly ServiceName: string } & Near, o: RequestOptions): MaybePromise<QueryReply<CheckServiceNode[]>> {
  return blockingRead(s, o, () => [serviceTopic(a.ServiceName)], () => near(s, a, catalogRead.checkServiceNodes(s.state.t, a.ServiceName), (r) => r.Node.Node));
}
