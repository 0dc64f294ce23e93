/**
 * fetch that never sends a request twice. Bun's and Deno's fetch resend a
 * request whose kept-alive connection breaks before the answer comes (seen:
 * a PUT arriving twice), which would create a session or take a lock twice;
 * Go's client replays only GET, HEAD, OPTIONS and TRACE. So every other
 * method goes on a connection of its own, where there is nothing to resend
 * on: Bun does that with `keepalive: false`, Deno with a client that keeps
 * no idle connections; Node's fetch does not resend and ignores both.
 */
const REPLAYABLE = new Set(["GET", "HEAD", "OPTIONS", "TRACE"]);

interface DenoHttp {
  createHttpClient(options: { poolMaxIdlePerHost: number }): unknown;
}

let freshClient: unknown;

function fetchOnce(request: Request): Promise<Response> {
  const deno = (globalThis as { Deno?: DenoHttp }).Deno;
  if (deno) {
    freshClient ??= deno.createHttpClient({ poolMaxIdlePerHost: 0 });
    return fetch(request, { client: freshClient } as RequestInit);
  }
  return fetch(request, { keepalive: false });
}

/** fetch, except that a request Go would not replay is sent on a fresh connection. */
export function fetchNoReplay(request: Request): Promise<Response> {
  return REPLAYABLE.has(request.method) ? fetch(request) : fetchOnce(request);
}
