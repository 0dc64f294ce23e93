/**
 * HTTPS listeners per runtime: Bun.serve with its `tls` option on Bun, and
 * node:https through @hono/node-server on Node and Deno (Deno.serve cannot
 * ask for client certificates). Like serve.ts, request and idle time-outs are
 * off for blocking queries. `setTls` swaps the certificate for new
 * connections (a reload): node:https changes its secure context in place;
 * Bun.serve cannot, so it is started again on the same port.
 */
import type { FetchHandler, HttpListener } from "./serve.ts";

export interface HttpsTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: readonly string[];
  /** Require a client certificate signed by `ca` (verify_incoming). */
  readonly requestCert: boolean;
  readonly minVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** OpenSSL cipher list, "" for defaults (not applied on Bun). */
  readonly ciphers: string;
}

export interface HttpsListener extends HttpListener {
  /** New certificate and CAs for connections made from now on. */
  setTls(tls: HttpsTls): Promise<void>;
}

export interface ServeHttpsOptions {
  readonly hostname: string;
  readonly port: number;
  readonly fetch: FetchHandler;
  readonly tls: HttpsTls;
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
    tls: { cert: string; key: string; ca?: string[]; requestCert: boolean; rejectUnauthorized: boolean };
    fetch(req: Request, server: BunServer): Response | Promise<Response>;
  }): BunServer;
}

export async function serveHttps(options: ServeHttpsOptions): Promise<HttpsListener> {
  const g = globalThis as { Bun?: BunGlobal };
  if (g.Bun) return serveBunTls(g.Bun, options);
  return serveNodeTls(options);
}

function serveBunTls(bun: BunGlobal, options: ServeHttpsOptions): HttpsListener {
  const start = (port: number, tls: HttpsTls): BunServer =>
    bun.serve({
      hostname: options.hostname,
      port,
      idleTimeout: 0,
      maxRequestBodySize: 64 * 1024 * 1024,
      tls: { cert: tls.cert, key: tls.key, ...(tls.ca.length > 0 ? { ca: [...tls.ca] } : {}), requestCert: tls.requestCert, rejectUnauthorized: tls.requestCert },
      fetch(req, srv) {
        return options.fetch(req, () => srv.requestIP(req)?.address ?? "");
      },
    });
  let server = start(options.port, options.tls);
  const port = server.port;
  return {
    hostname: options.hostname,
    port,
    async setTls(tls) {
      const old = server;
      // Open connections finish on the old certificate; new ones get the new one.
      await old.stop(false);
      server = start(port, tls);
    },
    async stop() {
      await server.stop(true);
    },
  };
}

function nodeTlsOptions(tls: HttpsTls) {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca.length > 0 ? { ca: [...tls.ca] } : {}),
    minVersion: tls.minVersion,
    ...(tls.ciphers !== "" ? { ciphers: tls.ciphers } : {}),
  };
}

async function serveNodeTls(options: ServeHttpsOptions): Promise<HttpsListener> {
  const { createAdaptorServer } = await import("@hono/node-server");
  const https = await import("node:https");
  type NodeEnv = { incoming: { socket: { remoteAddress?: string } } };
  const server = createAdaptorServer({
    fetch: (req: Request, env: NodeEnv) => options.fetch(req, () => env.incoming.socket.remoteAddress ?? ""),
    hostname: options.hostname,
    createServer: https.createServer,
    serverOptions: { ...nodeTlsOptions(options.tls), requestCert: options.tls.requestCert, rejectUnauthorized: options.tls.requestCert },
  });
  const srv = server as import("node:https").Server;
  srv.requestTimeout = 0;
  srv.headersTimeout = 60_000;
  srv.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen(options.port, options.hostname, () => resolve());
  });
  const address = srv.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    hostname: options.hostname,
    port,
    async setTls(tls) {
      srv.setSecureContext(nodeTlsOptions(tls));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        srv.close(() => resolve());
        srv.closeAllConnections();
      }),
  };
}
