/** Internal.* endpoints (Consul's agent/consul/internal_endpoint.go). */
import type { Server } from "../server.ts";
import type { GossipPool, KeyringResponse } from "../../gossip/mod.ts";
import { RpcError } from "../../rpc/errors.ts";
import type { KeyringEntry, KeyringOp } from "../../rpc/methods.ts";

function pools(s: Server): { lan: GossipPool; wan: GossipPool | null } {
  if (!s.pools) throw new RpcError("This server has no gossip pool");
  return s.pools;
}

/** Consul's Internal.EventFire: the server broadcasts the event on its LAN pool (coalescing off). */
export function eventFire(s: Server, a: { readonly Name: string; readonly Payload: Uint8Array }): true {
  pools(s).lan.userEvent(a.Name, a.Payload, false);
  return true;
}

function run(pool: GossipPool, op: KeyringOp, key: string): Promise<KeyringResponse> {
  switch (op) {
    case "list":
      return pool.listKeys();
    case "install":
      return pool.installKey(key);
    case "use":
      return pool.useKey(key);
    case "remove":
      return pool.removeKey(key);
  }
}

/**
 * Consul's Internal.KeyringOperation: the operation on the WAN ring (servers)
 * and then the LAN ring, each answered by every member of that ring.
 */
export async function keyringOperation(s: Server, a: { readonly Operation: KeyringOp; readonly Key: string; readonly LocalOnly: boolean }): Promise<KeyringEntry[]> {
  const { lan, wan } = pools(s);
  const out: KeyringEntry[] = [];
  const entry = (wanRing: boolean, r: KeyringResponse): KeyringEntry => ({
    WAN: wanRing,
    Datacenter: s.config.datacenter,
    Segment: "",
    Messages: r.Messages,
    Keys: r.Keys,
    PrimaryKeys: r.PrimaryKeys,
    NumNodes: r.NumNodes,
    NumResp: r.NumResp,
    NumErr: r.NumErr,
  });
  if (wan && !(a.Operation === "list" && a.LocalOnly)) out.push(entry(true, await run(wan, a.Operation, a.Key)));
  out.push(entry(false, await run(lan, a.Operation, a.Key)));
  return out;
}
