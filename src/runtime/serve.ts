/**
 * HTTP listeners per runtime: Bun.serve, Deno.serve, or node:http through
 * @hono/node-server. Chosen once at start; handlers are plain fetch functions.
 *
 * Blocking queries park requests for up to ten minutes, so every adapter turns
 * off the runtime's own request and idle time-outs.
 */
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

export async function serveHttp(options: ServeOptions): Promise<HttpListener> {
  const g = globalThis as { Bun?: BunGlobal; Deno?: DenoGlobal };
  if (g.Bun) return serveBun(g.Bun, options);
  if (g.Deno) return serveDeno(g.Deno, options);
  return serveNode(options);
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
