/**
 * Consul's `limits.http_max_conns_per_client`: one client address may hold
 * at most this many requests at once (parked blocking queries and bodies
 * still arriving included); past it the request is answered 429 at once, so
 * one client cannot take every connection and file descriptor from the rest.
 *
 * This counts requests in the handlers (the fetch handler and the direct
 * lane share one count), which works the same under every runtime's HTTP
 * server; the listeners also cap connections (src/runtime/serve.ts): as they
 * are accepted where the server shows them, else those that have sent nothing
 * yet at a sweep of the open connections.
 */
import { LaterAnswer } from "../runtime/later_answer.ts";
import type { DirectHandler, FetchHandler } from "../runtime/serve.ts";
import { PerClientCount } from "../structs/per_client.ts";

/** The 429 body Consul's connection limiter writes. */
export const TOO_MANY_CONNECTIONS = "Your IP is issuing too many concurrent connections, please rate limit your calls\n";

const PLAIN_TEXT = "text/plain; charset=utf-8";

/**
 * The refusal closes its connection, as Consul's limiter does: a client at
 * its cap does not keep the extra connection (on a runtime whose server shows
 * no connection before its first request, src/runtime/serve_*.ts, this is how
 * the extra ones go).
 */
const REFUSAL_HEADERS = { "Content-Type": PLAIN_TEXT, Connection: "close" } as const;

export interface ClientLimit {
  readonly fetch: (handler: FetchHandler) => FetchHandler;
  readonly direct: (handler: DirectHandler) => DirectHandler;
}

export function limitPerClient(max: number): ClientLimit {
  if (max <= 0) return { fetch: (h) => h, direct: (h) => h };
  const inFlight = new PerClientCount(max);
  return {
    fetch: (handler) => async (request, remoteAddress) => {
      const ip = remoteAddress();
      const release = inFlight.acquire(ip);
      if (release === null) return new Response(TOO_MANY_CONNECTIONS, { status: 429, headers: REFUSAL_HEADERS });
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
    },
    // The slot is held while an answer is on its way (a blocking read parks), or until the client is gone.
    direct: (handler) => (request) => {
      const release = inFlight.acquire(request.remoteAddress());
      if (release === null) return { status: 429, headers: { ...REFUSAL_HEADERS }, body: TOO_MANY_CONNECTIONS };
      let answer: ReturnType<DirectHandler>;
      try {
        answer = handler(request);
      } catch (err) {
        release();
        throw err;
      }
      if (answer instanceof LaterAnswer) {
        request.whenGone(release);
        const later = new LaterAnswer();
        answer.onAnswer((a) => {
          release();
          later.give(a);
        });
        return later;
      } else if (answer instanceof Promise) {
        request.whenGone(release);
        void answer.finally(release).catch(() => {});
      } else {
        release();
      }
      return answer;
    },
  };
}
