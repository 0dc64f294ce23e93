/**
 * Consul's `limits.http_max_conns_per_client`: one client address may hold
 * at most this many requests at once (parked blocking queries and bodies
 * still arriving included); past it the request is answered 429 at once, so
 * one client cannot take every connection and file descriptor from the rest.
 *
 * This counts requests in the handler, which works the same under every
 * runtime's HTTP server; where the listener can see connections as they are
 * accepted (node:http), src/runtime/serve.ts also caps connections.
 */
import type { FetchHandler } from "../runtime/serve.ts";
import { PerClientCount } from "../structs/per_client.ts";

/** The 429 body Consul's connection limiter writes. */
export const TOO_MANY_CONNECTIONS = "Your IP is issuing too many concurrent connections, please rate limit your calls\n";

export function limitPerClient(max: number, handler: FetchHandler): FetchHandler {
  if (max <= 0) return handler;
  const inFlight = new PerClientCount(max);
  return async (request, remoteAddress) => {
    const ip = remoteAddress();
    const release = inFlight.acquire(ip);
    if (release === null) return new Response(TOO_MANY_CONNECTIONS, { status: 429, headers: { "Content-Type": "text/plain; charset=utf-8" } });
    // A client that hangs up frees its slot at once, even while its blocking query is still parked.
    const done = () => {
      request.signal.removeEventListener("abort", done);
      release();
    };
    request.signal.addEventListener("abort", done);
    try {
      return await handler(request, () => ip);
    } finally {
      done();
    }
  };
}
