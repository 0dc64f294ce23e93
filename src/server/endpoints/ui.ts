/**
 * The Internal.* reads behind the web UI (Consul's internal_endpoint.go):
 * ServiceDump, NodeDump, GatewayServiceDump and ServiceTopology. Each blocks
 * on the whole catalog plus config entries, as Consul's do.
 */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import { BadRequestError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { configKindTopic, Topic } from "../../state/mod.ts";
import { gatewayServiceDump, type NodeInfo, nodeDump, type NodesWithGateways, serviceDump, type ServiceInfo, uiCatalogIndex } from "../../state/ui_read.ts";
import { type ServiceTopologyReply, topology } from "./ui_topology.ts";

export type { IntentionDecisionSummary, ServiceTopologyReply } from "./ui_topology.ts";

const TOPICS = () => [Topic.Nodes, Topic.Services, Topic.Checks, configKindTopic("")];

export function serviceDumpAll(s: Server, _a: Record<string, never>, o: RequestOptions): MaybePromise<QueryReply<NodesWithGateways>> {
  return blockingRead(s, o, TOPICS, () => serviceDump(s.state.t));
}

export function nodeDumpAll(s: Server, a: { readonly Node?: string }, o: RequestOptions): MaybePromise<QueryReply<NodeInfo[]>> {
  return blockingRead(s, o, TOPICS, () => nodeDump(s.state.t, a.Node));
}

export function gatewayDump(s: Server, a: { readonly ServiceName: string }, o: RequestOptions): MaybePromise<QueryReply<ServiceInfo[]>> {
  if (a.ServiceName === "") throw new BadRequestError("Must provide gateway name");
  return blockingRead(s, o, TOPICS, () => gatewayServiceDump(s.state.t, a.ServiceName));
}

export function serviceTopology(s: Server, a: { readonly ServiceName: string; readonly ServiceKind: string }, o: RequestOptions): MaybePromise<QueryReply<ServiceTopologyReply>> {
  if (a.ServiceName === "") throw new BadRequestError("Must provide a service name");
  const ctx = { defaultAllow: s.config.defaultIntentionPolicy !== "deny", datacenter: s.config.datacenter, trustDomain: s.ca.trustDomain() };
  return blockingRead(s, o, TOPICS, () => ({ index: uiCatalogIndex(s.state.t), value: topology(s.state.t, a.ServiceName, a.ServiceKind, ctx) }));
}
