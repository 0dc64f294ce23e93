/**
 * gRPC over the L7 path: whether a request is gRPC (Envoy's test, the
 * content-type), and the status a locally answered gRPC request carries.
 * Envoy answers a gRPC request it refuses itself with a trailers-only
 * response (HTTP 200, grpc-status, grpc-message) whose status maps the HTTP
 * one as gRPC's http-grpc-status-mapping does, except a route timeout,
 * which is DEADLINE_EXCEEDED.
 */
import type { Fields } from "./headers.ts";
import { headerGet } from "./request.ts";

export const GRPC_STATUS = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  DEADLINE_EXCEEDED: 4,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  UNAUTHENTICATED: 16,
} as const;

export function isGrpc(headers: readonly (readonly [string, string])[]): boolean {
  return (headerGet(headers, "content-type") ?? "").toLowerCase().startsWith("application/grpc");
}

export function grpcStatusOfHttp(status: number): number {
  switch (status) {
    case 400:
      return GRPC_STATUS.INTERNAL;
    case 401:
      return GRPC_STATUS.UNAUTHENTICATED;
    case 403:
      return GRPC_STATUS.PERMISSION_DENIED;
    case 404:
      return GRPC_STATUS.UNIMPLEMENTED;
    case 429:
    case 502:
    case 503:
    case 504:
      return GRPC_STATUS.UNAVAILABLE;
    default:
      return GRPC_STATUS.UNKNOWN;
  }
}

/** grpc-message's percent-encoding: bytes outside printable ASCII, and '%'. */
export function percentEncode(text: string): string {
  let out = "";
  for (const b of new TextEncoder().encode(text)) out += b < 0x20 || b > 0x7e || b === 0x25 ? `%${b.toString(16).toUpperCase().padStart(2, "0")}` : String.fromCharCode(b);
  return out;
}

/** The header block of a trailers-only gRPC answer for a local reply. */
export function grpcLocalReply(status: number, message: string, grpcStatus: number | undefined, extra: Fields): Record<string, string> {
  const out: Record<string, string> = { ":status": "200", "content-type": "application/grpc", "grpc-status": String(grpcStatus ?? grpcStatusOfHttp(status)), "grpc-message": percentEncode(message) };
  for (const [k, v] of extra) if (k.toLowerCase() !== "content-type") out[k.toLowerCase()] = v;
  return out;
}
