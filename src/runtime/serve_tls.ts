/**
 * HTTPS listeners: the same servers as serve.ts with TLS on. Bun.serve takes
 * the certificate, client-certificate check, lowest protocol version (as
 * OpenSSL "no TLSv1.x" options) and cipher list; node:https (Node, Deno) the
 * same settings by their node names. `setTls` swaps the certificate for new
 * connections (a reload): node:https changes its secure context in place;
 * Bun.serve cannot, so it is started again on the same port.
 */
import { bunGlobal, serveBun } from "./serve_bun.ts";
import { serveNode } from "./serve_node.ts";
import type { HttpListener, ServeOptions } from "./serve.ts";

export interface HttpsTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: readonly string[];
  /** Require a client certificate signed by `ca` (verify_incoming). */
  readonly requestCert: boolean;
  readonly minVersion: "TLSv1" | "TLSv1.1" | "TLSv1.2" | "TLSv1.3";
  /** OpenSSL cipher list for TLS 1.2 and below, "" for defaults (TLS 1.3 suites are not configurable, as in Consul). */
  readonly ciphers: string;
}

export interface HttpsListener extends HttpListener {
  /** New certificate and CAs for connections made from now on. */
  setTls(tls: HttpsTls): Promise<void>;
}

export interface ServeHttpsOptions extends ServeOptions {
  readonly tls: HttpsTls;
}

export async function serveHttps(options: ServeHttpsOptions): Promise<HttpsListener> {
  const bun = bunGlobal();
  if (bun) {
    const listener = serveBun(bun, options, options.tls);
    return { hostname: listener.hostname, port: listener.port, stop: () => listener.stop(), setTls: (tls) => listener.restart(tls) };
  }
  const listener = await serveNode(options, options.tls);
  return { hostname: listener.hostname, port: listener.port, stop: () => listener.stop(), setTls: async (tls) => listener.setTls(tls) };
}
