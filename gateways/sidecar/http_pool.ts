/**
 * HTTP/1.1 keep-alive connections over mutual TLS to the instances of an
 * upstream cluster: the sidecar's Transport for the L7 engine. Connections
 * are reused per endpoint; a cluster holds at most MaxConnections of them,
 * requests beyond wait (up to MaxPendingRequests) for one to come free, and
 * anything more is shed as an overflow.
 */
import type { Duplex } from "node:stream";
import type { AttemptOutcome, ClusterRuntime, Endpoint, OutboundRequest, Transport } from "../l7/engine.ts";
import type { DeadlineSignal } from "../l7/deadline.ts";
import type { Fields } from "../l7/headers.ts";
import { type BodyFraming, closesConnection, HttpParseError, parseResponseHead, type ResponseHead, responseFraming } from "../mesh/http1.ts";
import { HeadGatherer, STREAM_END } from "../mesh/h1_wire.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { Reader } from "../mesh/relay.ts";
import { dialInstance } from "../mesh/upstream.ts";

/** A pooled connection's socket (node:tls). */
export type PoolSocket = Duplex & { setNoDelay(noDelay?: boolean): unknown };

export interface PooledConn {
  readonly socket: PoolSocket;
  readonly reader: Reader;
  readonly cluster: string;
  readonly endpoint: string;
  reused: boolean;
}

export interface PooledResponse {
  readonly conn: PooledConn;
  readonly head: ResponseHead;
  readonly framing: BodyFraming;
  readonly reason: string;
}

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te"]);

const ENCODER = new TextEncoder();

export function serializeRequest(req: OutboundRequest): Uint8Array {
  // The request as it came, nothing changed: its own bytes.
  if (req.raw) return req.raw;
  let head = `${req.method} ${req.target} HTTP/1.1\r\n`;
  for (const [k, v] of req.headers) if (!HOP_BY_HOP.has(k.toLowerCase())) head += `${k}: ${v}\r\n`;
  head += "\r\n";
  const h = ENCODER.encode(head);
  if (req.body.length === 0) return h;
  const out = new Uint8Array(h.length + req.body.length);
  out.set(h);
  out.set(req.body, h.length);
  return out;
}

/**
 * A response head as an attempt's outcome; its fields are listed when first
 * asked (a front passing the head on as it came never asks), a fresh list
 * nobody else holds. A class, not an object literal with a getter: one shape
 * for every response (a --cpu-prof on Node put the literals' getters among
 * the sidecar's per-request costs).
 */
class HeadAnswer {
  readonly kind = "response";
  readonly status: number;
  readonly response: PooledResponse;
  readonly #head: ResponseHead;

  constructor(head: ResponseHead, response: PooledResponse) {
    this.status = head.status;
    this.response = response;
    this.#head = head;
  }

  get headers(): Fields {
    return this.#head.headers.fields as Fields;
  }
}

/**
 * Writes a request on a connection and reads the response head off its
 * socket's events; `done` gets the response (its body still to read from
 * `conn.reader`), or null when the connection failed (it is destroyed).
 */
export function exchange(conn: PooledConn, bytes: Uint8Array, method: string, signal: DeadlineSignal, done: (o: AttemptOutcome<PooledResponse> | null) => void): void {
  const socket = conn.socket;
  const onAbort = () => socket.destroy();
  const fail = () => {
    signal.removeEventListener("abort", onAbort);
    socket.destroy();
    done(null);
  };
  if (socket.destroyed || socket.writableEnded) return fail();
  signal.addEventListener("abort", onAbort, { once: true });
  socket.write(bytes);
  const head = new HeadGatherer(502);
  const step = (): void => {
    let out: AttemptOutcome<PooledResponse>;
    try {
      for (;;) {
        const raw = head.take(conn.reader);
        if (raw === null) return conn.reader.wait(step);
        if (raw === STREAM_END) throw new HttpParseError(502, "upstream closed the connection before answering");
        const h = parseResponseHead(raw);
        if (h.status >= 100 && h.status < 200) continue;
        out = new HeadAnswer(h, { conn, head: h, framing: responseFraming(h, method), reason: h.reason });
        break;
      }
    } catch {
      return fail();
    }
    // Outside the try: what the caller does with the answer is not this connection's failure.
    signal.removeEventListener("abort", onAbort);
    done(out);
  };
  step();
}

/** What a front needs of the pool once a response is through: whether its connection can be reused, and handing it back. */
export type ConnReturn = Pick<HttpPool, "reusable" | "release">;

interface ClusterConns {
  total: number;
  /** Connections dialled, and requests sent on a kept-alive one (admin view). */
  dialled: number;
  reused: number;
  readonly idle: Map<string, PooledConn[]>;
  readonly waiters: (() => void)[];
}

export class HttpPool implements Transport<PooledResponse> {
  private readonly identity: MeshIdentity;
  private readonly clusters = new Map<string, ClusterConns>();
  private readonly all = new Set<PoolSocket>();
  private stopped = false;

  constructor(identity: MeshIdentity) {
    this.identity = identity;
  }

  private conns(cluster: string): ClusterConns {
    let c = this.clusters.get(cluster);
    if (!c) {
      c = { total: 0, dialled: 0, reused: 0, idle: new Map(), waiters: [] };
      this.clusters.set(cluster, c);
    }
    return c;
  }

  /** Connections per cluster (admin view). */
  stats(): Record<string, { connections: number; idle: number; dialled: number; reused: number }> {
    const out: Record<string, { connections: number; idle: number; dialled: number; reused: number }> = {};
    for (const [k, c] of this.clusters) out[k] = { connections: c.total, idle: [...c.idle.values()].reduce((a, l) => a + l.length, 0), dialled: c.dialled, reused: c.reused };
    return out;
  }

  private forget(conn: PooledConn): void {
    const c = this.conns(conn.cluster);
    const list = c.idle.get(conn.endpoint);
    const i = list?.indexOf(conn) ?? -1;
    if (i >= 0) list!.splice(i, 1);
  }

  private closed(conn: PooledConn): void {
    this.forget(conn);
    const c = this.conns(conn.cluster);
    c.total--;
    c.waiters.shift()?.();
  }

  /** A kept-alive connection to the endpoint, if one is free. */
  private idleConn(c: ClusterConns, ep: Endpoint): PooledConn | null {
    const conn = c.idle.get(ep.key)?.pop();
    if (!conn) return null;
    conn.reused = true;
    c.reused++;
    return conn;
  }

  /**
   * A connection for `ep`: an idle one, else a new one once the cluster has
   * room. `fresh` (a retry after a kept-alive connection died under a
   * request): always a new one, and an idle one of the endpoint, as suspect
   * as the one that died, is closed to make room when the cluster is full.
   */
  private async acquire(ep: Endpoint, cluster: ClusterRuntime, signal: DeadlineSignal, fresh = false): Promise<PooledConn | "overflow"> {
    const c = this.conns(cluster.plan.name);
    for (;;) {
      const conn = fresh ? null : this.idleConn(c, ep);
      if (conn) return conn;
      if (c.total < cluster.breaker.maxConnections) break;
      if (fresh) c.idle.get(ep.key)?.pop()?.socket.destroy();
      // Full: wait for a connection to come free, within MaxPendingRequests.
      if (!cluster.breaker.tryPending()) return "overflow";
      try {
        await new Promise<void>((resolve, reject) => {
          const onAbort = () => reject(new Error("aborted while pending"));
          signal.addEventListener("abort", onAbort, { once: true });
          c.waiters.push(() => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          });
        });
      } finally {
        cluster.breaker.releasePending();
      }
      // A freed idle connection of another endpoint is closed to make room.
      if (!c.idle.get(ep.key)?.length && c.total >= cluster.breaker.maxConnections) {
        for (const list of c.idle.values()) {
          const other = list.pop();
          if (other) {
            other.socket.destroy();
            break;
          }
        }
      }
    }
    c.total++;
    c.dialled++;
    let socket: PoolSocket;
    try {
      const m = this.identity.material ?? (await this.identity.ready());
      const instance = { address: ep.address, port: ep.port, id: ep.key, node: "" };
      const target = { service: ep.target.service, namespace: ep.target.namespace, datacenter: ep.target.datacenter, subset: ep.target.subset };
      const dc = this.identity.datacenter ?? "";
      socket = await dialInstance(m, instance, target, dc, cluster.connectTimeoutMs);
    } catch (err) {
      c.total--;
      c.waiters.shift()?.();
      throw err;
    }
    socket.setNoDelay(true);
    this.all.add(socket);
    const conn: PooledConn = { socket, reader: new Reader(socket), cluster: cluster.plan.name, endpoint: ep.key, reused: false };
    socket.once("close", () => {
      this.all.delete(socket);
      this.closed(conn);
    });
    socket.on("error", () => socket.destroy());
    if (this.stopped) socket.destroy();
    return conn;
  }

  /** Hands a connection whose response is fully read back for reuse. */
  release(conn: PooledConn): void {
    if (conn.socket.destroyed || this.stopped) return;
    const c = this.conns(conn.cluster);
    const list = c.idle.get(conn.endpoint) ?? [];
    list.push(conn);
    c.idle.set(conn.endpoint, list);
    c.waiters.shift()?.();
  }

  send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<AttemptOutcome<PooledResponse>> {
    return new Promise((resolve) => this.start(ep, cluster, req, signal, resolve));
  }

  /**
   * One attempt, its outcome handed to `done`. A free kept-alive connection
   * is taken at once and the response head read off its socket's events (no
   * promise); else it waits for one or dials. A request on a kept-alive
   * connection the server had already closed goes once more, on a new one.
   */
  start(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal, done: (o: AttemptOutcome<PooledResponse>) => void): void {
    const bytes = serializeRequest(req);
    const c = this.conns(cluster.plan.name);
    const attempt = (conn: PooledConn | "overflow", fresh: number) => {
      if (conn === "overflow") return done({ kind: "failure", reason: "overflow", message: "pending requests overflow" });
      exchange(conn, bytes, req.method, signal, (out) => {
        if (out !== null) return done(out);
        if (conn.reused && !signal.aborted && fresh < 1) return next(fresh + 1);
        done({ kind: "failure", reason: "reset", message: "upstream reset" });
      });
    };
    const next = (fresh: number) => {
      // The retry dials anew: the other idle connections may have died with the first (a peer that closed them all at once).
      const idle = fresh === 0 ? this.idleConn(c, ep) : null;
      if (idle) return attempt(idle, fresh);
      this.acquire(ep, cluster, signal, fresh > 0).then(
        (conn) => attempt(conn, fresh),
        (err: unknown) => done({ kind: "failure", reason: signal.aborted ? "reset" : "connect-failure", message: (err as Error).message }),
      );
    };
    next(0);
  }

  discard(r: PooledResponse): void {
    r.conn.socket.destroy();
  }

  /** Whether a response's connection may carry another request once its body is read. */
  reusable(r: PooledResponse): boolean {
    return r.framing.kind !== "close" && !closesConnection(r.head.version, r.head.headers);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.all) s.destroy();
  }
}
