/**
 * The HTTP/1.1 side of an upstream's local listener: requests read off the
 * connection one after another (body buffered up to a limit, kept for
 * retries), handled by the L7 engine, and answered on the same connection,
 * streaming the upstream's body. Also tells HTTP/2 with prior knowledge
 * from HTTP/1.1 by the connection preface, as Envoy's codec AUTO does.
 */
import { Buffer } from "node:buffer";
import type { Socket } from "node:net";
import type { Handled, L7Engine } from "../l7/engine.ts";
import type { Fields } from "../l7/headers.ts";
import type { L7Request } from "../l7/request.ts";
import { BodyCounter, bodyPart, HeadGatherer, joined, STREAM_END, Turn, WriteBatch } from "../mesh/h1_wire.ts";
import { closesConnection, headWithout, HttpParseError, parseRequestHead, type RequestHead, requestFraming } from "../mesh/http1.ts";
import { Reader } from "../mesh/relay.ts";
import { discardResponse, isH2Response, respondH2OnH1, type UpstreamResponse } from "./h2_front.ts";
import type { ConnReturn, PooledResponse } from "./http_pool.ts";

/** The start of HTTP/2's client connection preface (RFC 9113 3.4). */
const H2_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0");
/** How long a connection may take to show whether it speaks HTTP/2. */
const SNIFF_TIMEOUT_MS = 10_000;

const REASONS: Record<number, string> = { 404: "Not Found", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 400: "Bad Request", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" };

/** A whole HTTP/1.1 answer made here (no upstream involved). */
function localResponse(status: number, headers: Fields, body: string, close: boolean): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  head += `content-length: ${new TextEncoder().encode(body).length}\r\n`;
  if (close) head += "connection: close\r\n";
  return `${head}\r\n${body}`;
}

export interface H1FrontOptions {
  readonly engine: L7Engine<UpstreamResponse>;
  readonly pool: ConnReturn;
  /** Largest request body buffered. */
  readonly maxBody: number;
}

/** Serves a paused connection as HTTP/1.1; a malformed request gets its 4xx and the connection ends. */
export function serveHttp1(o: H1FrontOptions, s: Socket): void {
  s.resume();
  new H1Session(o, s).start();
}

/**
 * Reads the first bytes of a paused connection: `onH2` gets them when they
 * are HTTP/2's preface (prior knowledge), else they are put back and the
 * connection is served as HTTP/1.1.
 */
export function sniffPreface(o: H1FrontOptions, s: Socket, onH2: (got: Uint8Array) => void): void {
  let got = new Uint8Array(0);
  const timer = setTimeout(() => s.destroy(), SNIFF_TIMEOUT_MS);
  const onData = (c: Uint8Array) => {
    const next = new Uint8Array(got.length + c.length);
    next.set(got);
    next.set(c, got.length);
    got = next;
    const n = Math.min(got.length, H2_PREFACE.length);
    const h2 = got.subarray(0, n).every((b, i) => b === H2_PREFACE[i]);
    if (h2 && got.length < H2_PREFACE.length) return;
    clearTimeout(timer);
    s.off("data", onData);
    s.pause();
    if (h2) onH2(got);
    else {
      s.unshift(got);
      serveHttp1(o, s);
    }
  };
  s.on("data", onData);
  s.resume();
}

const NO_BODY = new Uint8Array(0);

/** Fields a proxy does not pass on (RFC 9110 7.6.1), and so what keeps a request from going out as it came. */
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "upgrade", "te"] as const;

/** An HTTP/1.1 request for the engine: its fields listed only if routing or a modifier asks, its own bytes offered for sending unchanged. */
class H1Request implements L7Request {
  readonly method: string;
  readonly target: string;
  readonly body: Uint8Array;
  readonly sourceIp: string;
  readonly raw?: Uint8Array;
  readonly #head: RequestHead;

  constructor(head: RequestHead, body: Uint8Array, sourceIp: string) {
    this.method = head.method;
    this.target = head.target;
    this.body = body;
    this.sourceIp = sourceIp;
    this.#head = head;
    const h = head.headers;
    if (head.version === "HTTP/1.1" && h.crlf && !HOP_BY_HOP.some((n) => h.has(n))) {
      const raw = body.length === 0 ? head.raw : joined(head.raw, body);
      if (raw) this.raw = raw;
    }
  }

  get headers(): readonly (readonly [string, string])[] {
    return this.#head.headers.fields;
  }
}

/** Response fields that stay on the upstream's side of the proxy. */
const RESPONSE_HOP_BY_HOP = ["connection", "keep-alive"] as const;

/** A request whose body is still coming in (it is kept whole, for retries). */
interface Gathering {
  readonly head: RequestHead;
  readonly close: boolean;
  readonly body: BodyCounter;
  readonly chunks: Uint8Array[];
  size: number;
}

/**
 * One client connection, driven by its socket's events: requests are parsed
 * as their bytes arrive, routed by the engine's `dispatch`, and answered in
 * order (a pipelined request waits for the answer before it); the upstream's
 * body is passed on as its socket delivers it. No promise per request,
 * except for an HTTP/2 upstream.
 */
class H1Session {
  readonly #o: H1FrontOptions;
  readonly #client: Socket;
  readonly #r: Reader;
  readonly #sourceIp: string;
  readonly #head = new HeadGatherer(431);
  #gathering: Gathering | null = null;
  /** A request is being answered. */
  #busy = false;
  #finished = false;
  readonly #turn = new Turn(
    () => {
      while (!this.#busy && !this.#finished && this.#step());
    },
    (err) => this.#fail(err),
  );
  /** Ends the exchange in flight when the client goes away. */
  #abort: (() => void) | null = null;
  readonly #onReadable = () => this.#pump();

  constructor(o: H1FrontOptions, client: Socket) {
    this.#o = o;
    this.#client = client;
    this.#r = new Reader(client);
    this.#sourceIp = client.remoteAddress ?? "";
    client.once("close", () => {
      this.#finished = true;
      this.#abort?.();
    });
  }

  start(): void {
    this.#pump();
  }

  /** Reads requests as far as the bytes that arrived go, while none is being answered. */
  #pump(): void {
    this.#turn.run();
  }

  /** One step of reading; false when it must wait for the socket. */
  #step(): boolean {
    const r = this.#r;
    const g = this.#gathering;
    if (g) {
      const c = r.nextBuffered();
      if (c === null) {
        if (r.failed) throw r.failed;
        if (r.atEnd) throw g.body.cutShort() ?? new HttpParseError(400, "connection closed inside a body");
        r.wait(this.#onReadable);
        return false;
      }
      const used = g.body.take(c);
      const part = bodyPart(r, c, used);
      g.size += used;
      if (g.size > this.#o.maxBody) throw new HttpParseError(413, "request body too large");
      g.chunks.push(part);
      if (g.body.done) {
        this.#gathering = null;
        this.#dispatch(g.head, g.chunks.length === 1 ? g.chunks[0]! : Buffer.concat(g.chunks, g.size), g.close);
      }
      return true;
    }
    const raw = this.#head.take(r);
    if (raw === null) {
      r.wait(this.#onReadable);
      return false;
    }
    if (raw === STREAM_END) {
      this.#end();
      return false;
    }
    const head = parseRequestHead(raw);
    const body = BodyCounter.of(requestFraming(head));
    const close = closesConnection(head.version, head.headers);
    if (body.done) this.#dispatch(head, NO_BODY, close);
    else this.#gathering = { head, close, body, chunks: [], size: 0 };
    return true;
  }

  #dispatch(head: RequestHead, body: Uint8Array, close: boolean): void {
    this.#busy = true;
    this.#o.engine.dispatch(new H1Request(head, body, this.#sourceIp), undefined, (h) => this.#answer(h, head.method, close));
  }

  #answer(h: Handled<UpstreamResponse>, method: string, close: boolean): void {
    const client = this.#client;
    if (this.#finished || client.destroyed) {
      if (h.kind === "upstream") {
        discardResponse(h.response);
        h.done();
      }
      return;
    }
    if (h.kind === "local") {
      client.write(localResponse(h.status, h.headers, h.body, close));
      return this.#answered(!close);
    }
    if (isH2Response(h.response)) {
      respondH2OnH1(client, h, h.response, method, close).then(
        (keep) => this.#answered(keep),
        () => client.destroy(),
      );
      return;
    }
    new BodyRelay(this.#o.pool, client, h, h.response, method, close, (keep) => {
      this.#abort = null;
      this.#answered(keep);
    }).start((abort) => (this.#abort = abort));
  }

  /** The answer is out: read the next request, or end the connection. */
  #answered(keep: boolean): void {
    this.#busy = false;
    if (!keep) return this.#end();
    this.#pump();
  }

  #end(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (!this.#client.destroyed) this.#client.end();
  }

  #fail(err: unknown): void {
    const s = this.#client;
    this.#finished = true;
    if (err instanceof HttpParseError && !s.destroyed && !s.writableEnded) s.end(localResponse(err.status, [["content-type", "text/plain"]], err.message, true));
    else s.destroy();
  }
}

/** An HTTP/1.1 upstream's response passed to the client: the head (rewritten), then the body as it arrives. */
class BodyRelay {
  readonly #pool: ConnReturn;
  readonly #client: Socket;
  readonly #h: Extract<Handled<UpstreamResponse>, { kind: "upstream" }>;
  readonly #res: PooledResponse;
  readonly #method: string;
  readonly #endAfter: boolean;
  readonly #then: (keep: boolean) => void;
  readonly #out: WriteBatch;
  readonly #body: BodyCounter;
  #idle: ReturnType<typeof setTimeout> | undefined;
  #over = false;
  readonly #kill = () => this.#res.conn.socket.destroy();
  readonly #step = () => this.#pass();

  constructor(pool: ConnReturn, client: Socket, h: Extract<Handled<UpstreamResponse>, { kind: "upstream" }>, res: PooledResponse, method: string, close: boolean, then: (keep: boolean) => void) {
    this.#pool = pool;
    this.#client = client;
    this.#h = h;
    this.#res = res;
    this.#method = method;
    this.#endAfter = close || res.framing.kind === "close";
    this.#then = then;
    this.#out = new WriteBatch((c) => !client.destroyed && client.write(c));
    this.#body = BodyCounter.of(res.framing);
  }

  /** `onAbort` gets what ends the relay early (the client went away). */
  start(onAbort: (abort: () => void) => void): void {
    const h = this.#h;
    const up = this.#res.head;
    const close = this.#endAfter ? "connection: close\r\n" : "";
    // Unchanged fields: the upstream's head as it came, less its hop-by-hop lines.
    const same = !h.rewritten && up.version === "HTTP/1.1" ? headWithout(up.raw, up.headers, RESPONSE_HOP_BY_HOP, close) : null;
    if (same) this.#out.push(same);
    else {
      let head = `HTTP/1.1 ${h.status} ${this.#res.reason}\r\n`;
      for (const [k, v] of h.headers) {
        const lk = k.toLowerCase();
        if (lk !== "connection" && lk !== "keep-alive") head += `${k}: ${v}\r\n`;
      }
      this.#out.push(Buffer.from(`${head}${close}\r\n`, "latin1"));
    }
    h.signal.addEventListener("abort", this.#kill, { once: true });
    onAbort(() => this.#fail());
    this.#touch();
    this.#pass();
  }

  #touch(): void {
    if (this.#h.idleTimeoutMs <= 0) return;
    clearTimeout(this.#idle);
    this.#idle = setTimeout(this.#kill, this.#h.idleTimeoutMs);
  }

  /** Passes on what the upstream sent so far; waits for more, or for the client to drain. */
  #pass(): void {
    if (this.#over) return;
    const r = this.#res.conn.reader;
    const body = this.#body;
    try {
      while (!body.done) {
        const c = r.nextBuffered();
        if (c === null) {
          if (r.failed) throw r.failed;
          if (r.atEnd) {
            const err = body.cutShort();
            if (err) throw err;
            break;
          }
          if (this.#out.flush()) r.wait(this.#step);
          else this.#client.once("drain", this.#step);
          return;
        }
        this.#touch();
        const used = body.take(c);
        this.#out.push(bodyPart(r, c, used));
      }
    } catch {
      return this.#fail();
    }
    this.#out.flush();
    this.#close();
    if (this.#pool.reusable(this.#res) && this.#method !== "CONNECT") this.#pool.release(this.#res.conn);
    else this.#res.conn.socket.destroy();
    this.#then(!this.#endAfter);
  }

  #close(): void {
    this.#over = true;
    clearTimeout(this.#idle);
    this.#h.signal.removeEventListener("abort", this.#kill);
    this.#client.off("drain", this.#step);
    this.#h.done();
  }

  #fail(): void {
    if (this.#over) return;
    this.#close();
    this.#res.conn.socket.destroy();
    this.#client.destroy();
  }
}
