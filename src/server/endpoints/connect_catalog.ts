/** The Connect variants of Catalog.ServiceNodes and Health.ServiceNodes. */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import type { Near, ServiceNodeRow } from "../../rpc/methods.ts";
import { near } from "./rtt.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { type CheckServiceNode, configKindTopic, connectRead, gatewayServices as readGatewayServices, type GatewayServiceRow, Topic } from "../../state/mod.ts";

/** Proxies are other service names, so any catalog change may concern the service; so may a terminating gateway's entry. */
const TOPICS = [Topic.Services, Topic.Checks, Topic.Nodes, configKindTopic("terminating-gateway")];

export function catalogServiceNodes(s: Server, a: { readonly ServiceName: string } & Near, o: RequestOptions): MaybePromise<QueryReply<ServiceNodeRow[]>> {
  return blockingRead(s, o, () => TOPICS, () => near(s, a, connectRead.connectServiceNodes(s.state.t, a.ServiceName), (r) => r.node.Node));
}

export function healthServiceNodes(s: Server, a: { readonly ServiceName: string } & Near, o: RequestOptions): MaybePromise<QueryReply<CheckServiceNode[]>> {
  return blockingRead(s, o, () => TOPICS, () => near(s, a, connectRead.connectCheckServiceNodes(s.state.t, a.ServiceName), (r) => r.Node.Node));
}

/** A wildcard link follows registrations, a named one the entries; a service-defaults Destination sets a row's ServiceKind. */
const GATEWAY_TOPICS = [Topic.Services, configKindTopic("terminating-gateway"), configKindTopic("ingress-gateway"), configKindTopic("service-defaults")];

export function gatewayServices(s: Server, a: { readonly ServiceName: string }, o: RequestOptions): MaybePromise<QueryReply<GatewayServiceRow[] | null>> {
  return blockingRead(s, o, () => GATEWAY_TOPICS, () => readGatewayServices(s.state.t, a.ServiceName));
}
