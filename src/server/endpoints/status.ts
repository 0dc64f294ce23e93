/**
 * Status.* endpoints (Consul's agent/consul/status_endpoint.go): the lease
 * holder's RPC address, and every server of the datacenter (one, or the
 * cluster's configuration).
 */
import type { Server } from "../server.ts";

export function leader(s: Server): string {
  return s.leaderAddress();
}

export function peers(s: Server): string[] {
  return s.peers().map((p) => p.Address);
}
