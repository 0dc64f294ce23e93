/** DiscoveryChain.Get (Consul's agent/consul/discovery_chain_endpoint.go): the compiled chain, as a blocking read over the config entries. */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import type { DiscoveryChainArgs } from "../../rpc/methods.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { BadRequestError } from "../../rpc/errors.ts";
import { compileChain, type CompiledChain } from "../../connect/discoverychain/mod.ts";
import { CONFIG_TABLE, configKindTopic, configLookup } from "../../state/mod.ts";

/** The kinds a chain is compiled from; a write to any of them wakes its watchers. */
const CHAIN_KINDS = ["service-router", "service-splitter", "service-resolver", "service-defaults", "proxy-defaults"] as const;

export function get(s: Server, a: DiscoveryChainArgs, o: RequestOptions): MaybePromise<QueryReply<CompiledChain>> {
  if (a.Name === "") throw new BadRequestError("Must provide service name");
  const t = () => s.state.t;
  return blockingRead(
    s,
    o,
    () => CHAIN_KINDS.map(configKindTopic),
    () => ({
      index: t().index(CONFIG_TABLE),
      value: compileChain({
        serviceName: a.Name,
        datacenter: a.EvaluateInDatacenter || s.config.datacenter,
        trustDomain: s.ca.trustDomain(),
        entries: configLookup(t()),
        overrideProtocol: a.OverrideProtocol,
        overrideConnectTimeout: a.OverrideConnectTimeout,
        overrideMeshGatewayMode: a.OverrideMeshGateway.Mode,
      }),
    }),
  );
}
