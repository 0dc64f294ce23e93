/**
 * A listener that feeds a `fetch(request) -> Response` handler from
 * node:http / node:https (which Bun, Deno and Node all provide): the request
 * becomes a web Request, the Response streams back. TLS listeners pick their
 * certificate by SNI through a callback that reads the current set, so new
 * certificates apply without closing the listener or its connections.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo, Server as NetServer, Socket } from "node:net";
import { createSecureContext, type SecureContext, type SecureVersion, type TLSSocket } from "node:tls";
import { MAX_REQUEST_BODY } from "./handler.ts";

export type FetchHandler = (request: Request, info: { sourceIp: string; socket: Socket }) => Promise<Response>;

export interface CertPair {
  readonly certPem: string;
  readonly keyPem: string;
}

/** Protocol version bounds and cipher list every context of a listener shares. */
export interface TlsBounds {
  readonly minVersion: SecureVersion;
  /** "" for the runtime's highest. */
  readonly maxVersion: SecureVersion | "";
  /** OpenSSL cipher list (TLS 1.2 and below); "" for defaults. */
  readonly ciphers: string;
}

export const DEFAULT_BOUNDS: TlsBounds = { minVersion: "TLSv1.2", maxVersion: "", ciphers: "" };

/** The bounds as node:tls options. */
export function boundsOptions(b: TlsBounds): { minVersion: SecureVersion; maxVersion?: SecureVersion; ciphers?: string } {
  return { minVersion: b.minVersion, ...(b.maxVersion !== "" ? { maxVersion: b.maxVersion } : {}), ...(b.ciphers !== "" ? { ciphers: b.ciphers } : {}) };
}

/** Certificates by host name ("*" is the default, the first one given). */
export class SniCertificates {
  #contexts = new Map<string, SecureContext>();
  #fallback: SecureContext | null = null;
  #first: CertPair | null = null;
  #boundsKey = "";
  /** CAs that client certificates must chain to (a listener that asks for them). */
  ca: readonly string[] = [];
  /** Version bounds and ciphers of every context (set before `set`). */
  bounds: TlsBounds = DEFAULT_BOUNDS;
  /** Called with the new default pair (the listener updates its default context where the runtime can). */
  onDefault: ((pair: CertPair) => void) | null = null;

  /** The certificate for clients that send no SNI (and the only one where SNICallback is not honoured). */
  get first(): CertPair | null {
    return this.#first;
  }

  set(certs: readonly { hosts: readonly string[]; pair: CertPair }[]): void {
    const first = certs[0]?.pair ?? null;
    const boundsKey = JSON.stringify(this.bounds);
    const changed = first !== null && (first.certPem !== this.#first?.certPem || first.keyPem !== this.#first?.keyPem || boundsKey !== this.#boundsKey);
    this.#first = first;
    this.#boundsKey = boundsKey;
    if (changed && first) this.onDefault?.(first);
    const next = new Map<string, SecureContext>();
    let fallback: SecureContext | null = null;
    for (const c of certs) {
      const ctx = createSecureContext({ cert: c.pair.certPem, key: c.pair.keyPem, ...(this.ca.length > 0 ? { ca: [...this.ca] } : {}), ...boundsOptions(this.bounds) });
      fallback ??= ctx;
      for (const h of c.hosts) if (!next.has(h.toLowerCase())) next.set(h.toLowerCase(), ctx);
    }
    this.#contexts = next;
    this.#fallback = fallback;
  }

  get empty(): boolean {
    return this.#fallback === null;
  }

  pick(servername: string): SecureContext | null {
    const name = servername.toLowerCase();
    const exact = this.#contexts.get(name);
    if (exact) return exact;
    const dot = name.indexOf(".");
    if (dot > 0) {
      const wild = this.#contexts.get(`*${name.slice(dot)}`);
      if (wild) return wild;
    }
    return this.#fallback;
  }
}

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer> | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Uint8Array>) {
    size += c.length;
    if (size > MAX_REQUEST_BODY) return null;
    chunks.push(c);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Response bodies of known length up to this size are written whole. */
const WHOLE_BODY = 64 * 1024;

async function serveOne(handler: FetchHandler, req: IncomingMessage, res: ServerResponse, scheme: string): Promise<void> {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    try {
      headers.append(req.rawHeaders[i]!, req.rawHeaders[i + 1]!);
    } catch {
      // A header a web Request refuses (a malformed name) is dropped.
    }
  }
  const method = req.method ?? "GET";
  const body = method === "GET" || method === "HEAD" ? null : await readBody(req);
  if (body === null && method !== "GET" && method !== "HEAD") {
    res.writeHead(413, { "content-type": "text/plain" }).end("request body too large");
    return;
  }
  const host = headers.get("host") ?? "localhost";
  let url: string;
  try {
    url = new URL(req.url ?? "/", `${scheme}://${host}`).toString();
  } catch {
    res.writeHead(400, { "content-type": "text/plain" }).end("bad request target");
    return;
  }
  const request = new Request(url, { method, headers, ...(body && body.length > 0 ? { body } : {}) });
  const response = await handler(request, { sourceIp: req.socket.remoteAddress ?? "", socket: req.socket });
  const out: string[] = [];
  response.headers.forEach((v, k) => {
    if (k !== "set-cookie") out.push(k, v);
  });
  for (const c of response.headers.getSetCookie?.() ?? []) out.push("set-cookie", c);
  if (!response.body) {
    res.writeHead(response.status, out).end();
    return;
  }
  const length = Number(response.headers.get("content-length") ?? Number.NaN);
  if (length >= 0 && length <= WHOLE_BODY) {
    // A small body of known length goes out in one write, without a stream reader per response.
    res.writeHead(response.status, out).end(new Uint8Array(await response.arrayBuffer()));
    return;
  }
  res.writeHead(response.status, out);
  const reader = response.body.getReader();
  res.once("close", () => void reader.cancel().catch(() => {}));
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (!res.write(value)) await new Promise<void>((r) => res.once("drain", () => r()));
  }
  res.end();
}

export interface FetchServerOptions {
  readonly handler: FetchHandler;
  /** TLS certificates by SNI; null for plain HTTP. */
  readonly certificates: SniCertificates | null;
  /** A client certificate is asked for (and judged by the handler). */
  readonly requestCert?: boolean;
  readonly ca?: readonly string[];
  /** A request the handler failed (answered 502). */
  readonly onError?: (err: unknown) => void;
  /** How long a client may take to complete the TLS handshake (default 10 s). */
  readonly handshakeTimeoutMs?: number;
}

/** Binds a node:net-family server (http, https, tls, net) and answers the port it got. */
export async function listenOn(server: NetServer, host: string, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

/** A client that has not finished its TLS handshake by then is dropped (node's default is 120 s). */
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export class FetchServer {
  readonly #server: HttpServer;
  readonly #sockets = new Set<Socket>();

  constructor(o: FetchServerOptions) {
    const scheme = o.certificates ? "https" : "http";
    const onRequest = (req: IncomingMessage, res: ServerResponse) => {
      serveOne(o.handler, req, res, scheme).catch((err: unknown) => {
        o.onError?.(err);
        if (!res.headersSent) res.writeHead(502, { "content-type": "text/plain" }).end("upstream reset");
        else res.destroy();
      });
    };
    const certs = o.certificates;
    const first = certs?.first;
    this.#server = certs
      ? createHttpsServer(
          {
            ...(first ? { cert: first.certPem, key: first.keyPem } : {}),
            SNICallback: (name, cb) => cb(null, certs.pick(name) ?? undefined),
            ...(o.requestCert ? { requestCert: true, rejectUnauthorized: false, ca: [...(o.ca ?? [])] } : {}),
            ...boundsOptions(certs.bounds),
            handshakeTimeout: o.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS,
          },
          onRequest,
        )
      : createHttpServer(onRequest);
    this.#server.keepAliveTimeout = 60_000;
    if (certs) {
      // Node and Deno pick per SNI through the callback and can swap the default; a runtime without
      // setSecureContext serves the default it started with until the listener is reopened.
      const server = this.#server as HttpServer & { setSecureContext?: (o: { cert: string; key: string }) => void };
      certs.onDefault = (pair) => server.setSecureContext?.({ cert: pair.certPem, key: pair.keyPem, ...boundsOptions(certs.bounds) });
    }
    this.#server.on(certs ? "secureConnection" : "connection", (s: Socket | TLSSocket) => {
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
    });
  }

  listen(host: string, port: number): Promise<number> {
    return listenOn(this.#server, host, port);
  }

  get port(): number {
    return (this.#server.address() as AddressInfo | null)?.port ?? 0;
  }

  get connections(): number {
    return this.#sockets.size;
  }

  /** Stops accepting; open connections get `graceMs` to finish, then are closed. */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    this.#server.closeIdleConnections?.();
    if (graceMs > 0) await Promise.race([closed, new Promise((r) => setTimeout(r, graceMs))]);
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}
