/**
 * The NATS subjects of cross-datacenter RPC. A request for `dc2` goes to
 * `consulate.rpc.dc2.<Method>`; every server of dc2 listens there in one queue
 * group, so any one of them answers. Cancellations of parked blocking calls go
 * to every server of the datacenter (no queue) on `consulate.rpc-cancel.dc2`.
 */

/** Datacenter names that can appear in a subject (Consul allows letters, digits, `-` and `_`). */
const DC_NAME = /^[A-Za-z0-9_-]{1,64}$/;

export function isDatacenterName(dc: string): boolean {
  return DC_NAME.test(dc);
}

export function rpcSubject(dc: string, method: string): string {
  return `consulate.rpc.${dc}.${method}`;
}

/** What a datacenter's servers subscribe to (one token per method name part: `Catalog.ListNodes` is two). */
export function rpcWildcard(dc: string): string {
  return `consulate.rpc.${dc}.>`;
}

export function rpcQueue(dc: string): string {
  return `consulate.rpc.${dc}`;
}

export function cancelSubject(dc: string): string {
  return `consulate.rpc-cancel.${dc}`;
}

/** The method a request subject names, or null when it is not one of `dc`'s. */
export function methodOf(subject: string, dc: string): string | null {
  const prefix = `consulate.rpc.${dc}.`;
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : null;
}
