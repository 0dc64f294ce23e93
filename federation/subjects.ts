/**
 * The NATS subjects of cross-datacenter RPC. Calls for `dc2` go to
 * `consulate.rpc.dc2` (several calls to a message, batch.ts); every server of
 * dc2 listens there in one queue group, so any one of them answers. The
 * subject is exactly that: the servers' leader calls inside a datacenter use
 * `consulate.rpc.dc2.leader.<method>` (src/cluster/leader_rpc.ts) on what may
 * be the same NATS, and must not reach this queue group. Cancellations of
 * parked blocking calls go to every server of the datacenter (no queue) on
 * `consulate.rpc-cancel.dc2`.
 */

/** Datacenter names that can appear in a subject (Consul allows letters, digits, `-` and `_`). */
const DC_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function isDatacenterName(dc: string): boolean {
  return DC_NAME.test(dc);
}

export function rpcSubject(dc: string): string {
  return `consulate.rpc.${dc}`;
}

export function rpcQueue(dc: string): string {
  return `consulate.rpc.${dc}`;
}

export function cancelSubject(dc: string): string {
  return `consulate.rpc-cancel.${dc}`;
}
