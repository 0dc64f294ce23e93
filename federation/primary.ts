/**
 * Writes the primary datacenter is authoritative for: made in a secondary,
 * they are forwarded to the primary (Consul forwards intention, config entry
 * and global ACL writes there), and come back through replication. The
 * endpoint table of a federated server wraps these methods; everything else
 * is unchanged.
 */
import type { ArgsOf, Method, RequestOptions, Rpc } from "../src/rpc/types.ts";
import { ACL_PRIMARY_CALLS } from "../src/server/endpoints/acl_primary.ts";
import type { EndpointTable, Handler } from "../src/server/endpoints/table.ts";
import type { Server } from "../src/server/server.ts";

/** Methods that always write what the primary owns. */
export const PRIMARY_WRITES = ["ConfigEntry.Apply", "ConfigEntry.Delete", "Intention.Apply", "ConnectCA.ConfigurationSet"] as const satisfies readonly Method[];

type ForPrimary = (s: Server, args: never) => boolean;

/**
 * `base` with PRIMARY_WRITES (and the ACL calls whose object is global) sent
 * to `primary()` when that is not this server's datacenter. `rpc` must route
 * by datacenter (the federation's).
 */
export function primaryForwardingTable(base: EndpointTable, primary: () => string, rpc: () => Rpc): EndpointTable {
  const table: Record<string, unknown> = { ...base };
  const calls: [Method, ForPrimary][] = [...PRIMARY_WRITES.map((m): [Method, ForPrimary] => [m, () => true]), ...(Object.entries(ACL_PRIMARY_CALLS) as [Method, ForPrimary][])];
  for (const [method, forPrimary] of calls) {
    const local = base[method] as Handler<Method>;
    table[method] = (s: Server, args: ArgsOf<Method>, opts: RequestOptions) => {
      const p = primary();
      if (p === "" || p === s.config.datacenter || !forPrimary(s, args as never)) return local(s, args, opts);
      return rpc().call(method, args, { ...opts, datacenter: p });
    };
  }
  return table as EndpointTable;
}
