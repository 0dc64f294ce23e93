/**
 * HTTP listeners per runtime: Bun.serve, Deno.serve, or node:http through
 * @hono/node-server. Chosen once at start; handlers are plain fetch functions.
 *
 * Blocking queries park requests for up to ten minutes, so every adapter turns
 * off the runtime's own request and idle time-outs.
 */
import { PerClientCount } from "../structs/per_client.ts";
import { canonicalHeaderKey, withCanonicalHeaders } from "./canonical_headers.ts";
/** `remoteAddress` is a function because looking the peer up costs time on every request. */
export type FetchHandler = (request: Request, remoteAddress: () => string) => Response | Promise<Response>;

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
  /**
   * Open connections one client address may hold (0: no cap). Applied where
   * the server shows connections as they are accepted (node:http); Bun.serve
   * and Deno.serve do not, and rely on the per-client request cap the
   * handler applies (src/http/client_limit.ts).
   */
  readonly maxConnsPerClient?: number;
  /** Body sent with the 429 that refuses a connection past the cap. */
  readonly tooManyConnections?: string;
}

interface BunServer {
  readonly port: number;
  requestIP(req: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunGlobal {
  serve(options: {
    hostname: string;
    port: number;
    idleTimeout: number;
    maxRequestBodySize: number;
    fetch(req: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
}
interface DenoServer {
  readonly addr: { hostname: string; port: number };
  shutdown(): Promise<void>;
  readonly finished: Promise<void>;
}
interface DenoGlobal {
  serve(
    options: { hostname: string; port: number; onListen?: (addr: { hostname: string; port: number }) => void },
    handler: (req: Request, info: { remoteAddr: { hostname: string } }) => Response | Promise<Response>,
  ): DenoServer;
}

export async function serveHttp(serveOptions: ServeOptions): Promise<HttpListener> {
  const g = globalThis as { Bun?: BunGlobal; Deno?: DenoGlobal };
  // Bun and Deno write names as the Response holds them; node:http as writeHead gets them (serveNode).
  const handler = serveOptions.fetch;
  const options: ServeOptions = {
    ...serveOptions,
    fetch: async (req, remote) => withCanonicalHeaders(await handler(req, remote)),
  };
  if (g.Bun) return serveBun(g.Bun, options);
  if (g.Deno) return serveDeno(g.Deno, options);
  return serveNode(serveOptions);
}

function serveBun(bun: BunGlobal, options: ServeOptions): HttpListener {
  const server = bun.serve({
    hostname: options.hostname,
    port: options.port,
    idleTimeout: 0,
    maxRequestBodySize: 64 * 1024 * 1024,
    // idleTimeout 0 already lets a request park for the longest blocking query.
    fetch(req, srv) {
      return options.fetch(req, () => srv.requestIP(req)?.address ?? "");
    },
  });
  return {
    hostname: options.hostname,
    port: server.port,
    async stop() {
      await server.stop(true);
    },
  };
}

async function serveDeno(deno: DenoGlobal, options: ServeOptions): Promise<HttpListener> {
  let resolveListen: (port: number) => void = () => {};
  const listening = new Promise<number>((r) => (resolveListen = r));
  const server = deno.serve(
    { hostname: options.hostname, port: options.port, onListen: (addr) => resolveListen(addr.port) },
    (req, info) => options.fetch(req, () => info.remoteAddr.hostname),
  );
  const port = await listening;
  return {
    hostname: options.hostname,
    port,
    async stop() {
      await server.shutdown();
    },
  };
}

async function serveNode(options: ServeOptions): Promise<HttpListener> {
  const { createAdaptorServer } = await import("@hono/node-server");
  type NodeEnv = { incoming: { socket: { remoteAddress?: string } } };
  const server = createAdaptorServer({
    fetch: (req: Request, env: NodeEnv) => options.fetch(req, () => env.incoming.socket.remoteAddress ?? ""),
    hostname: options.hostname,
  });
  const http = server as import("node:http").Server;
  http.prependListener("request", (_req: unknown, res: import("node:http").ServerResponse) => canonicalWriteHead(res));
  const max = options.maxConnsPerClient ?? 0;
  if (max > 0) capConnections(http, max, options.tooManyConnections ?? "");
  http.requestTimeout = 0;
  http.headersTimeout = 60_000;
  http.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    http.once("error", reject);
    http.listen(options.port, options.hostname, () => resolve());
  });
  const address = http.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    hostname: options.hostname,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}

/** Canonical header names for what the adapter hands to `writeHead` as a record. */
function canonicalWriteHead(res: import("node:http").ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: unknown) => import("node:http").ServerResponse;
  res.writeHead = ((status: number, headers?: unknown) => {
    if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return writeHead(status, headers);
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(headers)) out[canonicalHeaderKey(name)] = value;
    return writeHead(status, out);
  }) as typeof res.writeHead;
}

/** Refuses a client's connections past `max` open ones with a bare 429, as Consul's connection limiter does. */
function capConnections(http: import("node:http").Server, max: number, body: string): void {
  const open = new PerClientCount(max);
  const refusal = `HTTP/1.1 429 Too Many Requests\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${new TextEncoder().encode(body).length}\r\nConnection: close\r\n\r\n${body}`;
  http.on("connection", (socket: import("node:net").Socket) => {
    const release = open.acquire(socket.remoteAddress ?? "");
    if (release === null) {
      socket.end(refusal);
      return;
    }
    socket.once("close", release);
  });
}
