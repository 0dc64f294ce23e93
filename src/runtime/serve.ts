/**
 * HTTP listeners per runtime: Bun.serve on Bun (serve_bun.ts), node:http
 * through @hono/node-server on Node and Deno (serve_node.ts). Chosen once at
 * start; handlers are plain fetch functions.
 *
 * Blocking queries park requests for up to ten minutes, so no adapter times a
 * request out while its handler runs; what they bound is the time a
 * connection may sit without delivering a request (`headerTimeoutMs`) and,
 * where the server shows connections as they are accepted, how many one
 * client may hold (`maxConnsPerClient`).
 */
import type { LaterAnswer } from "./later_answer.ts";
import { bunGlobal, serveBun } from "./serve_bun.ts";
import { serveNode } from "./serve_node.ts";

/** `remoteAddress` is a function because looking the peer up costs time on every request. */
export type FetchHandler = (request: Request, remoteAddress: () => string) => Response | Promise<Response>;

/**
 * A request as the listener received it, before any fetch `Request` is built
 * for it: what a `DirectHandler` needs to answer the hottest reads.
 */
export interface DirectRequest {
  readonly method: string;
  /** The request target as sent: path and query (`/v1/kv/foo?raw`). */
  readonly target: string;
  /** A request header by its lower-case name; undefined when absent. */
  header(name: string): string | undefined;
  remoteAddress(): string;
  /** Calls `listener` once the client is gone (it may also be called once the answer is written). */
  whenGone(listener: () => void): void;
  /**
   * The whole request body (read it at most once), or null when it has not
   * all arrived within `deadlineMs`. Rejects if the client goes before it is
   * all there. No limit but the request's Content-Length, which the caller
   * checks first.
   */
  body(deadlineMs: number): Promise<Uint8Array | null>;
}

/** An answer written straight to the connection. */
export interface DirectAnswer {
  readonly status: number;
  /**
   * Header names in canonical form, as they go on the wire. One answer (and
   * its headers) may be handed to many requests at once (parked watchers of
   * one key): the listener may add `Content-Length`, nothing else.
   */
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | null;
}

/**
 * Answers the requests it knows without a fetch `Request` or `Response`
 * (the hot reads); null, decided before anything is done, hands the request
 * to `fetch` instead.
 */
export type DirectHandler = (request: DirectRequest) => DirectAnswer | Promise<DirectAnswer> | LaterAnswer | null;

export interface HttpListener {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting, closes open connections and resolves when done. */
  stop(): Promise<void>;
}

export interface ServeOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly fetch: FetchHandler;
  /** Tried before `fetch` for every request (absent: every request goes to `fetch`). */
  readonly direct?: DirectHandler;
  /**
   * Open connections one client address may hold (0: no cap), refused with a
   * bare 429 as they are accepted. node:http shows connections as they are
   * accepted (Node, Deno); Bun.serve does not, and there the connections
   * that have sent nothing are refused past the cap at the next sweep of the
   * process's descriptors (Linux, serve_bun.ts), those with a request by the
   * per-client request cap the handler applies (src/http/client_limit.ts).
   */
  readonly maxConnsPerClient?: number;
  /** Body sent with the 429 that refuses a connection past the cap. */
  readonly tooManyConnections?: string;
  /**
   * How long a connection may go without delivering a complete request head,
   * counted from when it opens and again from the end of each response
   * (0: no deadline). Past it the connection is closed. node:http applies it
   * as given; on Bun.serve a sweep of the process's descriptors applies it to
   * a first request head (Linux; within a quarter of it, 100 ms to 1 s, later;
   * elsewhere Bun's own fixed ~10 s does) and Bun.serve itself, in whole
   * seconds (at most 255), between requests on a kept-alive connection.
   */
  readonly headerTimeoutMs?: number;
}

export async function serveHttp(options: ServeOptions): Promise<HttpListener> {
  const bun = bunGlobal();
  if (bun) return serveBun(bun, options, null);
  return serveNode(options, null);
}
