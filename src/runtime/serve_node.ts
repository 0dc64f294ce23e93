/**
 * node:http and node:https through @hono/node-server, on Node and Deno: both
 * show each connection as it is accepted, so a client's connections are
 * capped there and every connection gets a deadline for its next request head.
 * A `direct` handler sees each request first and answers the hot reads from
 * the node objects themselves (no fetch Request, Response or body stream).
 */
import type { IncomingMessage, Server as HttpServer, ServerResponse } from "node:http";
import type { Server as HttpsServer } from "node:https";
import type { Socket } from "node:net";
import { PerClientCount } from "../structs/per_client.ts";
import { canonicalHeaderKey } from "./canonical_headers.ts";
import { keepAccepting } from "./keep_accepting.ts";
import { LaterAnswer } from "./later_answer.ts";
import { writeSharedAnswer } from "./shared_answer_node.ts";
import type { HttpsTls } from "./serve_tls.ts";
import type { DirectAnswer, DirectHandler, DirectRequest, HttpListener, ServeOptions } from "./serve.ts";
import { tooManyConnections } from "./too_many.ts";

export interface NodeListener extends HttpListener {
  /** New certificate and CAs for connections made from now on (HTTPS only). */
  setTls(tls: HttpsTls): void;
}

export function nodeTlsOptions(tls: HttpsTls) {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.ca.length > 0 ? { ca: [...tls.ca] } : {}),
    minVersion: tls.minVersion,
    ...(tls.ciphers !== "" ? { ciphers: tls.ciphers } : {}),
  };
}

export async function serveNode(options: ServeOptions, tls: HttpsTls | null): Promise<NodeListener> {
  const { getRequestListener } = await import("@hono/node-server");
  type NodeEnv = { incoming: { socket: { remoteAddress?: string } } };
  const fetch = (req: Request, env: NodeEnv) => options.fetch(req, () => env.incoming.socket.remoteAddress ?? "");
  // node-server swaps the global Request/Response for lighter ones; under Bun
  // that would hand Bun's own listener (in the same process) objects it refuses.
  const viaFetch = getRequestListener(fetch, { hostname: options.hostname, overrideGlobalObjects: !("Bun" in globalThis) });
  const direct = options.direct;
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    if (direct !== undefined && answerDirect(direct, req, res)) return;
    canonicalWriteHead(res);
    void viaFetch(req, res);
  };
  const server: HttpServer | HttpsServer = tls
    ? (await import("node:https")).createServer({ ...nodeTlsOptions(tls), requestCert: tls.requestCert, rejectUnauthorized: tls.requestCert }, listener)
    : (await import("node:http")).createServer(listener);
  const max = options.maxConnsPerClient ?? 0;
  if (max > 0) capConnections(server, max, options.tooManyConnections ?? "");
  const deadline = options.headerTimeoutMs ?? 0;
  if (deadline > 0) requestHeadDeadline(server, deadline, tls !== null);
  // Blocking queries park for minutes; the deadline above replaces node's own idle and header timers.
  server.requestTimeout = 0;
  server.headersTimeout = Math.max(60_000, deadline);
  server.keepAliveTimeout = deadline > 0 ? 0 : 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.hostname, () => resolve());
  });
  keepAccepting(server);
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : options.port;
  return {
    hostname: options.hostname,
    port,
    setTls(next) {
      (server as HttpsServer).setSecureContext(nodeTlsOptions(next));
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The request as a `DirectHandler` sees it: the node objects, read only when asked. */
class NodeDirectRequest implements DirectRequest {
  private readonly req: IncomingMessage;
  private readonly res: ServerResponse;

  constructor(req: IncomingMessage, res: ServerResponse) {
    this.req = req;
    this.res = res;
  }

  get method(): string {
    return this.req.method ?? "GET";
  }

  get target(): string {
    return this.req.url ?? "/";
  }

  /** From the raw list: node builds `req.headers` on first use, an object a parked request would keep. */
  header(name: string): string | undefined {
    const raw = this.req.rawHeaders;
    let found: string | undefined;
    for (let i = 0; i < raw.length; i += 2) {
      const n = raw[i]!;
      if (n.length === name.length && n.toLowerCase() === name) found = found === undefined ? raw[i + 1] : `${found}, ${raw[i + 1]}`;
    }
    return found;
  }

  remoteAddress(): string {
    return this.req.socket.remoteAddress ?? "";
  }

  whenGone(listener: () => void): void {
    this.res.once("close", listener);
  }

  /**
   * A small body comes in the same read as its head: the parser hands it over
   * right after the request event, before the microtasks run, so then it is
   * taken in one read, with no listener and no timer; only a body still on its
   * way is waited for.
   */
  body(deadlineMs: number): Promise<Uint8Array | null> {
    const req = this.req;
    return Promise.resolve().then(() => (req.complete ? bufferedBody(req) : arrivingBody(req, deadlineMs)));
  }
}

const EMPTY = new Uint8Array(0);

function bufferedBody(req: IncomingMessage): Uint8Array {
  const data = req.read() as Buffer | null;
  return data ?? EMPTY;
}

function arrivingBody(req: IncomingMessage, deadlineMs: number): Promise<Uint8Array | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      req.pause();
      resolve(null);
    }, deadlineMs);
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.once("end", () => {
      clearTimeout(timer);
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    const gone = (err?: Error): void => {
      if (req.complete) return;
      clearTimeout(timer);
      reject(err ?? new Error("The client went away before its request body arrived"));
    };
    req.once("error", gone);
    req.once("close", () => gone());
  });
}

/** Writes what the direct handler answered; false when it passed the request on. */
function answerDirect(direct: DirectHandler, req: IncomingMessage, res: ServerResponse): boolean {
  const answer = direct(new NodeDirectRequest(req, res));
  if (answer === null) return false;
  if (answer instanceof LaterAnswer) {
    // Written from the waker's loop itself (shared_waits.ts): no promise reaction in between; the
    // answer is often one shared by thousands of watchers, its head and body made into bytes once.
    answer.onAnswer((a) => {
      try {
        writeSharedAnswer(res, a, writeDirect);
      } catch {
        res.destroy(); // an answer that cannot be written ends its connection
      }
    });
  } else if (answer instanceof Promise) {
    answer.then(
      (a) => writeDirect(res, a),
      () => writeDirect(res, { status: 500, headers: { "Content-Type": "text/plain; charset=UTF-8" }, body: "Internal Server Error" }),
    );
  } else {
    writeDirect(res, answer);
  }
  return true;
}

/** One `writeHead` with every header, the body in the same write. */
function writeDirect(res: ServerResponse, a: DirectAnswer): void {
  if (res.destroyed) return;
  const body = a.body;
  a.headers["Content-Length"] = body === null ? "0" : String(typeof body === "string" ? Buffer.byteLength(body) : body.length);
  res.writeHead(a.status, a.headers);
  if (body === null) res.end();
  else res.end(body);
}

/** Canonical header names for what the adapter hands to `writeHead` as a record. */
function canonicalWriteHead(res: ServerResponse): void {
  const writeHead = res.writeHead.bind(res) as (status: number, headers?: unknown) => ServerResponse;
  res.writeHead = ((status: number, headers?: unknown) => {
    if (headers === null || typeof headers !== "object" || Array.isArray(headers)) return writeHead(status, headers);
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(headers)) out[canonicalHeaderKey(name)] = value;
    return writeHead(status, out);
  }) as typeof res.writeHead;
}

/** Refuses a client's connections past `max` open ones with a bare 429, as Consul's connection limiter does. */
function capConnections(server: HttpServer | HttpsServer, max: number, body: string): void {
  const open = new PerClientCount(max);
  const refusal = tooManyConnections(body);
  server.on("connection", (socket: Socket) => {
    const release = open.acquire(socket.remoteAddress ?? "");
    if (release === null) {
      socket.end(refusal);
      // A client that never reads must not hold the socket open either.
      setTimeout(() => socket.destroy(), 1000).unref?.();
      return;
    }
    socket.once("close", release);
  });
}

/** Where a connection's deadline state hangs off its sockets and responses. */
const CONN = Symbol("consulate.conn");

interface Conn {
  timer: ReturnType<typeof setTimeout> | null;
  inFlight: number;
  readonly socket: Socket;
}

type Tagged = { [CONN]?: Conn };

/**
 * Closes a connection that has not delivered a complete request head within
 * `ms` of opening (a TLS handshake included) or of its last response ending.
 * The state is found from the socket a request arrives on; under TLS that is
 * not the socket the connection was accepted on, so the first request of a
 * TLS connection finds it by peer address and port. One timer per
 * connection, re-armed in place, and listeners shared by all (a parked
 * blocking query holds no closure of its own here).
 */
function requestHeadDeadline(server: HttpServer | HttpsServer, ms: number, tls: boolean): void {
  const conns = new Map<string, Conn>();
  const keyOf = (s: Socket) => `${s.remoteAddress}|${s.remotePort}`;
  const expire = (conn: Conn) => {
    if (conn.inFlight === 0) conn.socket.destroy();
  };
  const arm = (conn: Conn) => {
    if (conn.timer === null) conn.timer = setTimeout(expire, ms, conn);
    else conn.timer.refresh();
  };
  function socketClosed(this: Socket & Tagged): void {
    const conn = this[CONN];
    if (!conn) return;
    if (conn.timer) clearTimeout(conn.timer);
    if (tls && conns.get(keyOf(this)) === conn) conns.delete(keyOf(this));
  }
  function responseClosed(this: ServerResponse & Tagged): void {
    const conn = this[CONN];
    if (!conn) return;
    conn.inFlight--;
    if (conn.inFlight === 0 && !conn.socket.destroyed) arm(conn);
  }
  server.on("connection", (socket: Socket & Tagged) => {
    if (socket.destroyed) return;
    const conn: Conn = { timer: null, inFlight: 0, socket };
    socket[CONN] = conn;
    if (tls) conns.set(keyOf(socket), conn);
    arm(conn);
    socket.on("close", socketClosed);
  });
  server.on("request", (req: { socket: Socket & Tagged }, res: ServerResponse & Tagged) => {
    let conn = req.socket[CONN];
    if (!conn && tls) {
      conn = conns.get(keyOf(req.socket));
      if (conn) req.socket[CONN] = conn;
    }
    if (!conn) return;
    conn.inFlight++;
    res[CONN] = conn;
    res.on("close", responseClosed);
  });
}
