/**
 * The in-process transport: a server agent calls its own server's endpoints
 * directly. A non-blocking read answers synchronously (no promise); errors
 * may be thrown synchronously too.
 */
import { NoPathError } from "./errors.ts";
import type { Rpc } from "./types.ts";
import type { Server } from "../server/server.ts";
import { type EndpointTable, endpoints, type Handler } from "../server/endpoints/table.ts";

export function inProcessRpc(server: Server, table: EndpointTable = endpoints): Rpc {
  const dc = server.config.datacenter;
  return {
    call(method, args, opts) {
      if (opts.datacenter !== dc && opts.datacenter !== "") throw new NoPathError();
      return (table[method] as Handler<typeof method>)(server, args, opts);
    },
  };
}
