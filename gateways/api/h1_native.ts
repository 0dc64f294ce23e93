/**
 * The gateway's HTTP/1.1 client on the runtime's own TLS sockets (where it
 * has them: `nativeTcp`), under PoolTransport. Each connection parses its
 * answer straight in the socket's data callback: a small body of known
 * length is gathered into one buffer (a body that came with the head is a
 * view of that chunk, no copy), anything else streams with back-pressure. No
 * event emitter, stream reader or promise per chunk sits in between; an
 * attempt costs one promise. Connections are kept alive per endpoint and
 * bounded per cluster as the sidecar's pool does (MaxConnections, requests
 * beyond wait within MaxPendingRequests, more is an overflow).
 */
import type { TcpConn } from "../../src/runtime/tcp.ts";
import type { AttemptOutcome, ClusterRuntime, Endpoint, OutboundRequest } from "../l7/engine.ts";
import type { DeadlineSignal } from "../l7/deadline.ts";
import type { Fields } from "../l7/headers.ts";
import { ChunkedTracker, closesConnection, headEnd, MAX_HEAD_BYTES, parseResponseHead, type ResponseHead, responseFraming } from "../mesh/http1.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { dialInstanceConn } from "../mesh/upstream.ts";
import { serializeRequest } from "../sidecar/http_pool.ts";
import { BUFFERED_BODY, Dechunker } from "./dechunk.ts";
import type { Upstream } from "./handler.ts";

const EMPTY = new Uint8Array(0);

type Outcome = AttemptOutcome<Upstream>;
/** null: a kept-alive connection was gone before any byte of an answer (the request may go again on a new one). */
type Settle = (o: Outcome | null) => void;

const reset = (message: string): Outcome => ({ kind: "failure", reason: "reset", message });

/** How a streamed body ends: after `left` bytes, at the last chunk, or when the server closes. */
type Framing = { left: number } | { readonly tracker: ChunkedTracker; readonly dechunk: Dechunker } | null;

class H1Conn {
  readonly conn: TcpConn;
  readonly endpoint: string;
  reused = false;
  readonly #pool: Slots;
  #settle: Settle | null = null;
  #signal: DeadlineSignal | null = null;
  #method = "";
  /** A head that came in pieces. */
  #partial: Uint8Array | null = null;
  #answered = false;
  #status = 0;
  #fields: Fields = [];
  #keep = true;
  /** A small body being gathered, and how much of it is in. */
  #body: Uint8Array<ArrayBuffer> | null = null;
  #at = 0;
  #stream: ReadableStreamDefaultController<Uint8Array> | null = null;
  #framing: Framing = null;
  readonly #abort = () => this.conn.destroy();

  constructor(conn: TcpConn, endpoint: string, pool: Slots) {
    this.conn = conn;
    this.endpoint = endpoint;
    this.#pool = pool;
    conn.handle({
      data: (c) => this.#data(c),
      end: () => this.#gone(null),
      close: (err) => this.#gone(err),
    });
  }

  /** Sends one request; settles with the answer's head (and its whole body when small). */
  exchange(bytes: Uint8Array, method: string, signal: DeadlineSignal): Promise<Outcome | null> {
    return new Promise((settle) => {
      if (this.conn.closed) return settle(null);
      this.#settle = settle;
      this.#signal = signal;
      this.#method = method;
      this.#answered = false;
      this.#keep = true;
      signal.addEventListener("abort", this.#abort, { once: true });
      this.conn.write(bytes);
    });
  }

  #data(c: Uint8Array): void {
    if (this.#stream) return this.#streamData(c);
    if (this.#body) return this.#bodyData(c);
    // Bytes nobody asked for: the connection cannot be trusted with another request.
    if (!this.#settle) return this.conn.destroy();
    this.#answered = true;
    let buf = c;
    if (this.#partial) {
      buf = new Uint8Array(this.#partial.length + c.length);
      buf.set(this.#partial);
      buf.set(c, this.#partial.length);
      this.#partial = null;
    }
    for (;;) {
      const end = headEnd(buf);
      if (end === -1) {
        if (buf.length > MAX_HEAD_BYTES) return this.#fail("upstream response head too large");
        if (buf.length > 0) this.#partial = buf;
        return;
      }
      let head: ResponseHead;
      try {
        head = parseResponseHead(buf.subarray(0, end));
      } catch (err) {
        return this.#fail((err as Error).message);
      }
      buf = buf.subarray(end);
      if (head.status >= 200 || head.status < 100) return this.#head(head, buf);
    }
  }

  #head(head: ResponseHead, rest: Uint8Array): void {
    let framing;
    try {
      framing = responseFraming(head, this.#method);
    } catch (err) {
      return this.#fail((err as Error).message);
    }
    this.#status = head.status;
    // The parsed fields are a fresh list nobody else holds.
    this.#fields = head.headers.fields as Fields;
    this.#keep = framing.kind !== "close" && !closesConnection(head.version, head.headers);
    if (framing.kind === "none") {
      if (rest.length > 0) this.#keep = false;
      return this.#finish(EMPTY);
    }
    if (framing.kind === "length" && framing.length <= BUFFERED_BODY && this.#method !== "HEAD") {
      const length = framing.length;
      if (rest.length >= length) {
        if (rest.length > length) this.#keep = false;
        // Socket chunks are fresh buffers of their own (never shared memory).
        return this.#finish(rest.subarray(0, length) as Uint8Array<ArrayBuffer>);
      }
      this.#body = new Uint8Array(length);
      this.#body.set(rest);
      this.#at = rest.length;
      return;
    }
    // Streamed: the head goes on now, the connection follows the body.
    this.#framing = framing.kind === "length" ? { left: framing.length } : framing.kind === "chunked" ? { tracker: new ChunkedTracker(), dechunk: new Dechunker() } : null;
    const conn = this.conn;
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#stream = controller;
        },
        pull: () => conn.resume(),
        cancel: () => {
          // The reader is gone: nothing more goes to the stream, and the rest of the body cannot be skipped cheaply.
          this.#stream = null;
          conn.destroy();
        },
      },
      { highWaterMark: 16 },
    );
    this.#settled({ kind: "response", status: head.status, headers: this.#fields, response: new Response(body, { status: head.status }) });
    if (rest.length > 0) this.#streamData(rest);
  }

  #bodyData(c: Uint8Array): void {
    const body = this.#body!;
    const take = Math.min(body.length - this.#at, c.length);
    body.set(take === c.length ? c : c.subarray(0, take), this.#at);
    this.#at += take;
    if (take < c.length) this.#keep = false;
    if (this.#at === body.length) this.#finish(body);
  }

  #streamData(c: Uint8Array): void {
    const s = this.#stream!;
    const f = this.#framing;
    let ended = false;
    try {
      if (f === null) s.enqueue(c);
      else if ("left" in f) {
        const take = Math.min(f.left, c.length);
        if (take > 0) s.enqueue(take === c.length ? c : c.subarray(0, take));
        f.left -= take;
        if (take < c.length) this.#keep = false;
        ended = f.left === 0;
      } else {
        const used = f.tracker.feed(c);
        f.dechunk.feed(used === c.length ? c : c.subarray(0, used), (x) => s.enqueue(x));
        if (used < c.length) this.#keep = false;
        ended = f.tracker.done;
      }
    } catch (err) {
      s.error(err);
      this.#stream = null;
      return this.conn.destroy();
    }
    if (ended) {
      s.close();
      this.#stream = null;
      this.conn.resume();
      return this.#reuse();
    }
    if ((s.desiredSize ?? 1) <= 0) this.conn.pause();
  }

  #settled(o: Outcome | null): void {
    const settle = this.#settle!;
    this.#settle = null;
    this.#signal?.removeEventListener("abort", this.#abort);
    this.#signal = null;
    settle(o);
  }

  #finish(body: Uint8Array<ArrayBuffer>): void {
    this.#body = null;
    this.#settled({ kind: "response", status: this.#status, headers: this.#fields, response: body });
    this.#reuse();
  }

  #reuse(): void {
    if (this.#keep) this.#pool.release(this);
    else this.conn.destroy();
  }

  #fail(message: string): void {
    this.#settled(reset(message));
    this.conn.destroy();
  }

  /** The server closed (or the connection failed). */
  #gone(err: Error | null): void {
    if (this.#stream) {
      // A close-delimited body ends here; any other is cut short.
      if (this.#framing === null && err === null) this.#stream.close();
      else this.#stream.error(err ?? new Error("upstream closed the connection inside a body"));
      this.#stream = null;
    } else if (this.#settle) {
      const inBody = this.#body !== null;
      this.#body = null;
      if (!this.#answered && this.reused && !this.#signal?.aborted) this.#settled(null);
      else this.#settled(reset(inBody ? "upstream closed the connection inside a body" : (err?.message ?? "upstream closed the connection before answering")));
    }
    this.conn.destroy();
  }
}

/** A cluster's connections: how many are open, the free ones per endpoint, requests waiting for one. */
class Slots {
  open = 0;
  readonly free = new Map<string, H1Conn[]>();
  readonly waiting: (() => void)[] = [];
  stopped = false;

  release(c: H1Conn): void {
    if (this.stopped || c.conn.closed) return;
    const list = this.free.get(c.endpoint);
    if (list) list.push(c);
    else this.free.set(c.endpoint, [c]);
    this.waiting.shift()?.();
  }

  take(endpoint: string): H1Conn | null {
    const c = this.free.get(endpoint)?.pop();
    if (!c) return null;
    c.reused = true;
    return c;
  }

  closed(c: H1Conn): void {
    const list = this.free.get(c.endpoint);
    const i = list ? list.indexOf(c) : -1;
    if (i >= 0) list!.splice(i, 1);
    this.open--;
    this.waiting.shift()?.();
  }

  /** Waits for a connection to close or come free; rejects if the request's deadline passes first. */
  turn(signal: DeadlineSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(new Error("aborted while pending"));
      signal.addEventListener("abort", onAbort, { once: true });
      this.waiting.push(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      });
    });
  }
}

export class NativeH1Pool {
  readonly #identity: MeshIdentity;
  readonly #clusters = new Map<string, Slots>();
  readonly #all = new Set<TcpConn>();
  #stopped = false;

  constructor(identity: MeshIdentity) {
    this.#identity = identity;
  }

  #slots(cluster: string): Slots {
    let s = this.#clusters.get(cluster);
    if (!s) {
      s = new Slots();
      this.#clusters.set(cluster, s);
    }
    return s;
  }

  async send(ep: Endpoint, cluster: ClusterRuntime, req: OutboundRequest, signal: DeadlineSignal): Promise<Outcome> {
    const bytes = serializeRequest(req);
    const slots = this.#slots(cluster.plan.name);
    for (let fresh = 0; fresh < 2; fresh++) {
      let conn: H1Conn | "overflow";
      try {
        // A free kept-alive connection is taken at once (no promise); else wait or dial.
        conn = slots.take(ep.key) ?? (await this.#acquire(slots, ep, cluster, signal));
      } catch (err) {
        return { kind: "failure", reason: signal.aborted ? "reset" : "connect-failure", message: (err as Error).message };
      }
      if (conn === "overflow") return { kind: "failure", reason: "overflow", message: "pending requests overflow" };
      const out = await conn.exchange(bytes, req.method, signal);
      if (out !== null) return out;
    }
    return reset("upstream reset");
  }

  async #acquire(slots: Slots, ep: Endpoint, cluster: ClusterRuntime, signal: DeadlineSignal): Promise<H1Conn | "overflow"> {
    while (slots.open >= cluster.breaker.maxConnections) {
      if (!cluster.breaker.tryPending()) return "overflow";
      try {
        await slots.turn(signal);
      } finally {
        cluster.breaker.releasePending();
      }
      const free = slots.take(ep.key);
      if (free) return free;
      // Still full: a free connection to another endpoint is closed to make room.
      if (slots.open >= cluster.breaker.maxConnections) [...slots.free.values()].find((l) => l.length > 0)?.pop()?.conn.destroy();
    }
    slots.open++;
    let tcp: TcpConn;
    try {
      const m = this.#identity.material ?? (await this.#identity.ready());
      const target = { service: ep.target.service, namespace: ep.target.namespace, datacenter: ep.target.datacenter, subset: ep.target.subset };
      const dial = dialInstanceConn(m, { address: ep.address, port: ep.port, id: ep.key, node: "" }, target, this.#identity.datacenter ?? "", cluster.connectTimeoutMs);
      if (dial === null) throw new Error("this runtime has no native TLS sockets");
      tcp = await dial;
    } catch (err) {
      slots.open--;
      slots.waiting.shift()?.();
      throw err;
    }
    const conn = new H1Conn(tcp, ep.key, slots);
    this.#all.add(tcp);
    tcp.onClosed(() => {
      this.#all.delete(tcp);
      slots.closed(conn);
    });
    if (this.#stopped) tcp.destroy();
    return conn;
  }

  stop(): void {
    this.#stopped = true;
    for (const s of this.#clusters.values()) s.stopped = true;
    for (const c of this.#all) c.destroy();
  }
}
