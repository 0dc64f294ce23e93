/**
 * `translate_wan_addrs` on the HTTP API (Consul's Agent.TranslateAddresses):
 * nodes and services read from another datacenter show their WAN tagged
 * addresses (and a service's WAN port) in `Address` / `Port`, on
 * /v1/catalog/nodes, /v1/catalog/node/:node, /v1/catalog/node-services/:node,
 * /v1/catalog/service/:service, /v1/catalog/connect/:service,
 * /v1/health/service/:service, /v1/health/connect/:service and
 * /v1/query/:id/execute. `TaggedAddresses` keep the LAN address for clients
 * that want it. Every read answered while it is on carries
 * `X-Consul-Translate-Addresses: true` (see app.ts).
 */
import type { ApiContext } from "./context.ts";
import type { Node, NodeService } from "../structs/catalog.ts";
import { Accept, translateNodeAddr, translateServiceAddr, translateServicePortFor } from "../structs/translate_addr.ts";

export interface AddressView {
  node(n: Node): Node;
  service(s: NodeService): NodeService;
}

export const asIs: AddressView = { node: (n) => n, service: (s) => s };

const wanView: AddressView = {
  node: (n) => ({ ...n, Address: translateNodeAddr(true, n, Accept.Any) }),
  service: (s) => ({ ...s, Address: translateServiceAddr(true, s.Address, s.TaggedAddresses, Accept.Any), Port: translateServicePortFor(true, s.Port, s.TaggedAddresses) }),
};

/** How nodes and services of `dc` are shown to this agent's HTTP clients (copies; the originals are never changed). */
export function addressView(api: ApiContext, dc: string): AddressView {
  return api.agent.translateWanAddrs === true && dc !== api.agent.datacenter ? wanView : asIs;
}
