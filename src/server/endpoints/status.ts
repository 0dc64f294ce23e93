/** Status.* endpoints (Consul's agent/consul/status_endpoint.go): with one server, it leads. */
import type { Server } from "../server.ts";

export function leader(s: Server): string {
  return `${s.config.advertiseAddr}:${s.config.serverPort}`;
}

export function peers(s: Server): string[] {
  return [leader(s)];
}
