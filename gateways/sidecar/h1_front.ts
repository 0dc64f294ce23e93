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
import { type BodyFraming, closesConnection, HttpParseError, parseRequestHead, requestFraming } from "../mesh/http1.ts";
import { pumpBody, readHead } from "../mesh/http_relay.ts";
import { Reader, write } from "../mesh/relay.ts";
import { isH2Response, respondH2OnH1, type UpstreamResponse } from "./h2_front.ts";
import type { HttpPool } from "./http_pool.ts";

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
  readonly pool: HttpPool;
  /** Largest request body buffered. */
  readonly maxBody: number;
}

/** Serves a paused connection as HTTP/1.1; a malformed request gets its 4xx and the connection ends. */
export function serveHttp1(o: H1FrontOptions, s: Socket): void {
  s.resume();
  serveRequests(o, s).catch((err) => {
    if (err instanceof HttpParseError && !s.destroyed && !s.writableEnded) s.end(localResponse(err.status, [["content-type", "text/plain"]], err.message, true));
    else s.destroy();
  });
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

/** A whole request body (it is kept for retries), at most `max` bytes; a one-chunk body as it came. */
async function readBody(r: Reader, framing: BodyFraming, max: number): Promise<Uint8Array> {
  if (framing.kind === "none") return NO_BODY;
  const chunks: Uint8Array[] = [];
  let size = 0;
  await pumpBody(r, framing, async (c) => {
    size += c.length;
    if (size > max) throw new HttpParseError(413, "request body too large");
    chunks.push(c);
  });
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

async function serveRequests(o: H1FrontOptions, client: Socket): Promise<void> {
  const r = new Reader(client);
  const sourceIp = client.remoteAddress ?? "";
  for (;;) {
    const raw = await readHead(r, 431);
    if (raw === null) break;
    const head = parseRequestHead(raw);
    const body = await readBody(r, requestFraming(head), o.maxBody);
    const close = closesConnection(head.version, head.headers);
    const req: L7Request = { method: head.method, target: head.target, headers: head.headers.fields, body, sourceIp };
    const h = await o.engine.handle(req);
    const keepGoing = await respond(o.pool, client, h, head.method, close);
    if (!keepGoing) break;
  }
  if (!client.destroyed) client.end();
}

/** Writes one answer; false when the connection must end after it. */
async function respond(pool: HttpPool, client: Socket, h: Handled<UpstreamResponse>, method: string, close: boolean): Promise<boolean> {
  if (h.kind === "local") {
    await write(client, localResponse(h.status, h.headers, h.body, close));
    return !close;
  }
  if (isH2Response(h.response)) return respondH2OnH1(client, h, h.response, method, close);
  const res = h.response;
  let head = `HTTP/1.1 ${h.status} ${res.reason}\r\n`;
  for (const [k, v] of h.headers) {
    const lk = k.toLowerCase();
    if (lk !== "connection" && lk !== "keep-alive") head += `${k}: ${v}\r\n`;
  }
  const endAfter = close || res.framing.kind === "close";
  if (endAfter) head += "connection: close\r\n";
  head += "\r\n";
  let idle: ReturnType<typeof setTimeout> | undefined;
  const kill = () => res.conn.socket.destroy();
  const touch = () => {
    if (h.idleTimeoutMs <= 0) return;
    clearTimeout(idle);
    idle = setTimeout(kill, h.idleTimeoutMs);
  };
  h.signal.addEventListener("abort", kill, { once: true });
  try {
    touch();
    await pumpBody(
      res.conn.reader,
      res.framing,
      async (c) => {
        touch();
        await write(client, c);
      },
      Buffer.from(head, "latin1"),
    );
    if (pool.reusable(res) && method !== "CONNECT") pool.release(res.conn);
    else res.conn.socket.destroy();
  } catch (err) {
    res.conn.socket.destroy();
    client.destroy();
    throw err;
  } finally {
    clearTimeout(idle);
    h.signal.removeEventListener("abort", kill);
    h.done();
  }
  return !endAfter;
}
