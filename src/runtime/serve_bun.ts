/**
 * Bun.serve for HTTP and HTTPS: one options builder for both.
 *
 * Bun.serve shows no connection before its first request, and closes one that
 * has not delivered a complete request head within its own ~10-12 s (its
 * `idleTimeout` does not change that, nor does `closeIdleConnections()` reach
 * such a connection). So a connection that has not sent a byte is counted
 * against its client's cap and closed at the request-head deadline by a sweep
 * of the process's descriptors (silent_conns_bun.ts, Linux); a connection with
 * a request is counted by the per-client request cap, whose 429 closes the
 * connection (src/http/client_limit.ts). node:http under Bun shows each
 * connection as it is accepted, but costs ~1.7x the CPU per KV GET of this
 * path, and a front relaying every byte to Bun.serve ~2x (bench/kv/README.md).
 * Its `idleTimeout` bounds a kept-alive connection between requests: each
 * request turns the deadline off while its handler runs (a blocking query
 * parks for minutes) and back on once the response is handed over.
 */
import { constants } from "node:crypto";
import { withCanonicalHeaders } from "./canonical_headers.ts";
import type { HttpsTls } from "./serve_tls.ts";
import { LaterAnswer } from "./later_answer.ts";
import { isLongLived } from "./long_lived.ts";
import type { DirectAnswer, DirectRequest, HttpListener, ServeOptions } from "./serve.ts";
import { watchSilentConnections } from "./silent_conns_bun.ts";
import { tooManyConnections } from "./too_many.ts";

interface BunServer {
  readonly port: number;
  requestIP(req: Request): { address: string; port: number } | null;
  timeout(req: Request, seconds: number): void;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunTlsOptions {
  cert: string;
  key: string;
  ca?: string[];
  requestCert: boolean;
  rejectUnauthorized: boolean;
  secureOptions: number;
  ciphers?: string;
}
interface BunServeOptions {
  hostname: string;
  port: number;
  idleTimeout: number;
  maxRequestBodySize: number;
  tls?: BunTlsOptions;
  fetch(req: Request, server: BunServer): Response | Promise<Response>;
}
export interface BunGlobal {
  serve(options: BunServeOptions): BunServer;
}

export function bunGlobal(): BunGlobal | null {
  return (globalThis as { Bun?: BunGlobal }).Bun ?? null;
}

/** Bun's `idleTimeout` is whole seconds, 0 (none) to 255. */
export function idleSeconds(ms: number): number {
  return ms <= 0 ? 0 : Math.min(255, Math.max(1, Math.ceil(ms / 1000)));
}

/** The OpenSSL options that refuse every protocol version below `min` (Bun.serve takes no minVersion). */
export function noVersionsBelow(min: HttpsTls["minVersion"]): number {
  const order = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
  const flags = [constants.SSL_OP_NO_TLSv1, constants.SSL_OP_NO_TLSv1_1, constants.SSL_OP_NO_TLSv1_2] as const;
  let bits = 0;
  for (let i = 0; i < order.indexOf(min); i++) bits |= flags[i]!;
  return bits;
}

function bunTls(tls: HttpsTls): BunTlsOptions {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca.length > 0 ? { ca: [...tls.ca] } : {}),
    requestCert: tls.requestCert,
    rejectUnauthorized: tls.requestCert,
    secureOptions: noVersionsBelow(tls.minVersion),
    ...(tls.ciphers !== "" ? { ciphers: tls.ciphers } : {}),
  };
}

/** The request as a `DirectHandler` sees it. */
class BunDirectRequest implements DirectRequest {
  private readonly req: Request;
  private readonly srv: BunServer;

  constructor(req: Request, srv: BunServer) {
    this.req = req;
    this.srv = srv;
  }

  get method(): string {
    return this.req.method;
  }

  /** Bun hands out the absolute URL: the target is what follows the authority. */
  get target(): string {
    const url = this.req.url;
    const at = url.indexOf("/", url.indexOf("//") + 2);
    return at < 0 ? "/" : url.slice(at);
  }

  header(name: string): string | undefined {
    return this.req.headers.get(name) ?? undefined;
  }

  remoteAddress(): string {
    return this.srv.requestIP(this.req)?.address ?? "";
  }

  whenGone(listener: () => void): void {
    this.req.signal.addEventListener("abort", listener, { once: true });
  }

  async body(deadlineMs: number): Promise<Uint8Array | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((resolve) => (timer = setTimeout(resolve, deadlineMs, null)));
    try {
      const bytes = await Promise.race([this.req.arrayBuffer(), late]);
      return bytes === null ? null : new Uint8Array(bytes);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Header names in the record are canonical already and Bun writes them as
 * held. Bytes are copied: they may be a stored value, which a Response must not take over.
 */
const directResponse = (a: DirectAnswer, headers: HeadersInit = a.headers): Response =>
  new Response(a.body instanceof Uint8Array ? (a.body.slice() as BodyInit) : a.body, { status: a.status, headers });

/**
 * A parked answer is often one answer shared by thousands of watchers: its
 * `Headers` is built once (a record is copied into a new one per Response,
 * several times the cost of the Response itself).
 */
const sharedHeaders = new WeakMap<DirectAnswer, Headers>();

function headersOf(a: DirectAnswer): Headers {
  let h = sharedHeaders.get(a);
  if (h === undefined) {
    h = new Headers(a.headers);
    sharedHeaders.set(a, h);
  }
  return h;
}

/**
 * The peer ports of connections whose request is with a handler and has had
 * no answer yet (the sweep of silent connections must tell them from a request
 * head never finished); a count per port, as two clients may use the same one.
 */
class Waiting {
  readonly #ports = new Map<number, number>();

  /** Notes the request's connection until the returned function is called. */
  enter(req: Request, srv: BunServer): () => void {
    const port = srv.requestIP(req)?.port ?? 0;
    this.#ports.set(port, (this.#ports.get(port) ?? 0) + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const n = (this.#ports.get(port) ?? 1) - 1;
      if (n <= 0) this.#ports.delete(port);
      else this.#ports.set(port, n);
    };
  }

  has(port: number): boolean {
    return this.#ports.has(port);
  }
}

export function bunServeOptions(options: ServeOptions, port: number, tls: HttpsTls | null, waiting: Waiting | null = null): BunServeOptions {
  const idle = idleSeconds(options.headerTimeoutMs ?? 0);
  const handler = options.fetch;
  const direct = options.direct;
  // While a handler runs the connection has no deadline (a blocking query parks for minutes); it is back once the answer is handed over.
  const untimed = async (req: Request, srv: BunServer, answer: () => Response | Promise<Response>): Promise<Response> => {
    if (idle > 0) srv.timeout(req, 0);
    const leave = waiting?.enter(req, srv);
    let res: Response;
    try {
      res = await answer();
    } finally {
      leave?.();
    }
    // A client gone before its answer has no connection left to time.
    if (idle > 0 && !isLongLived(res) && !req.signal.aborted) srv.timeout(req, idle);
    // Bun writes header names as the Response holds them.
    return withCanonicalHeaders(res);
  };
  /**
   * A direct answer that waits (a parked blocking read): one reaction from the
   * answer to the Response, no wrapper around it, since thousands of them are
   * resolved by one write and the first is written only once all are through.
   */
  const parkedDirect = (req: Request, srv: BunServer, answer: Promise<DirectAnswer> | LaterAnswer): Promise<Response> => {
    if (idle > 0) srv.timeout(req, 0);
    const leave = waiting?.enter(req, srv);
    const respond = (a: DirectAnswer): Response => {
      leave?.();
      if (idle > 0 && !req.signal.aborted) srv.timeout(req, idle);
      return directResponse(a, headersOf(a));
    };
    if (answer instanceof Promise) {
      if (leave) answer.catch(leave);
      return answer.then(respond);
    }
    // The Response is built in the waker's loop: the server's own reaction to this promise is the only one left.
    return new Promise<Response>((resolve, reject) =>
      answer.onAnswer((a) => {
        try {
          resolve(respond(a));
        } catch (err) {
          reject(err);
        }
      })
    );
  };
  return {
    hostname: options.hostname,
    port,
    idleTimeout: idle,
    maxRequestBodySize: 64 * 1024 * 1024,
    ...(tls ? { tls: bunTls(tls) } : {}),
    fetch(req, srv) {
      if (direct !== undefined) {
        const answer = direct(new BunDirectRequest(req, srv));
        // An answer ready at once never lifted the deadline.
        if (answer !== null) return answer instanceof Promise || answer instanceof LaterAnswer ? parkedDirect(req, srv, answer) : directResponse(answer);
      }
      return untimed(req, srv, () => handler(req, () => srv.requestIP(req)?.address ?? ""));
    },
  };
}

export interface BunListener extends HttpListener {
  /** Starts the server again on the same port with new TLS settings; requests in flight finish on the old one. */
  restart(tls: HttpsTls | null): Promise<void>;
}

export function serveBun(bun: BunGlobal, options: ServeOptions, tls: HttpsTls | null): BunListener {
  const deadlineMs = options.headerTimeoutMs ?? 0;
  const waiting = deadlineMs > 0 ? new Waiting() : null;
  let server = bun.serve(bunServeOptions(options, options.port, tls, waiting));
  const port = server.port;
  const silent = watchSilentConnections({
    port,
    maxPerClient: options.maxConnsPerClient ?? 0,
    deadlineMs,
    refusal: tooManyConnections(options.tooManyConnections ?? ""),
    ...(waiting ? { handling: (peerPort: number) => waiting.has(peerPort) } : {}),
  });
  /** Servers replaced by a restart that still finish requests in flight (a parked blocking query). */
  const draining = new Set<BunServer>();
  return {
    hostname: options.hostname,
    port,
    async restart(next) {
      // The old server stops listening at once; the new one takes the port while the old finishes
      // its requests in flight (waiting for them first would leave the port closed for minutes).
      const old = server;
      draining.add(old);
      void Promise.resolve(old.stop(false)).finally(() => draining.delete(old));
      server = bun.serve(bunServeOptions(options, port, next, waiting));
    },
    async stop() {
      silent?.stop();
      await Promise.all([server, ...draining].map((s) => s.stop(true)));
      draining.clear();
    },
  };
}
