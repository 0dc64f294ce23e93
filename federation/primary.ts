/**
 * Writes the primary datacenter is authoritative for: made in a secondary,
 * they are forwarded to the primary (Consul forwards intention and config
 * entry writes there), and come back through replication. The endpoint table
 * of a federated server wraps these methods; everything else is unchanged.
 */
import type { ArgsOf, Method, RequestOptions, Rpc } from "../src/rpc/types.ts";
import type { EndpointTable, Handler } from "../src/server/endpoints/table.ts";
import type { Server } from "../src/server/server.ts";

/** Methods that write what the primary owns. */
export const PRIMARY_WRITES = ["ConfigEntry.Apply", "ConfigEntry.Delete", "Intention.Apply", "ConnectCA.ConfigurationSet"] as const satisfies readonly Method[];

/**
 * `base` with PRIMARY_WRITES sent to `primary()` when that is not this
 * server's datacenter. `rpc` must route by datacenter (the federation's).
 */
export function primaryForwardingTable(base: EndpointTable, primary: () => string, rpc: () => Rpc): EndpointTable {
  const table: Record<string, unknown> = { ...base };
  for (const method of PRIMARY_WRITES) {
    const local = base[method] as Handler<typeof method>;
    table[method] = (s: Server, args: ArgsOf<typeof method>, opts: RequestOptions) => {
      const p = primary();
      if (p === "" || p === s.config.datacenter) return local(s, args as never, opts);
      return rpc().call(method, args as never, { ...opts, datacenter: p });
    };
  }
  return table as EndpointTable;
}
