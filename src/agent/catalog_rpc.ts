/**
 * What the agent needs from the servers' catalog. One interface, with
 * transports: in-process (this agent is a server) now, the server RPC port
 * once client agents exist.
 */
import type { DeregisterRequest, HealthCheck, Node, NodeService, RegisterRequest } from "../structs/catalog.ts";
import type { Server } from "../server/mod.ts";
import { catalogRead, MessageType } from "../state/mod.ts";

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

/** Calls into a server in the same process. */
export function inProcessCatalog(server: Server): CatalogRpc {
  return {
    async nodeState(node) {
      const t = server.state.t;
      const ns = catalogRead.nodeWithServices(t, node).value;
      return { node: ns?.node ?? null, services: ns?.services ?? [], checks: catalogRead.nodeChecks(t, node).value };
    },
    async register(req) {
      await server.mustWrite({ Type: MessageType.Register, Now: server.clock.now(), Req: req });
    },
    async deregister(req) {
      await server.mustWrite({ Type: MessageType.Deregister, Now: server.clock.now(), Req: req });
    },
  };
}
