/**
 * What the agent's anti-entropy needs from the servers' catalog, over the
 * RPC layer (in-process on a server agent, the server RPC port on a client).
 */
import type { DeregisterRequest, HealthCheck, Node, NodeService, RegisterRequest } from "../structs/catalog.ts";
import { defaultOptions, type Rpc } from "../rpc/mod.ts";
import type { Server } from "../server/mod.ts";
import { inProcessRpc } from "../rpc/mod.ts";

export interface NodeState {
  readonly node: Node | null;
  readonly services: NodeService[];
  readonly checks: HealthCheck[];
}

export interface CatalogRpc {
  nodeState(node: string): Promise<NodeState>;
  register(req: RegisterRequest): Promise<void>;
  deregister(req: DeregisterRequest): Promise<void>;
}

/** Catalog.NodeServices + Health.NodeChecks, Catalog.Register and Catalog.Deregister. */
export function rpcCatalog(rpc: Rpc, datacenter: string): CatalogRpc {
  const opts = defaultOptions(datacenter);
  return {
    async nodeState(node) {
      const ns = await rpc.call("Catalog.NodeServices", { Node: node }, opts);
      const checks = await rpc.call("Health.NodeChecks", { Node: node }, opts);
      return { node: ns.value?.node ?? null, services: ns.value?.services ?? [], checks: checks.value };
    },
    async register(req) {
      await rpc.call("Catalog.Register", req, opts);
    },
    async deregister(req) {
      await rpc.call("Catalog.Deregister", req, opts);
    },
  };
}

/** Calls into a server in the same process. */
export function inProcessCatalog(server: Server): CatalogRpc {
  return rpcCatalog(inProcessRpc(server), server.config.datacenter);
}
