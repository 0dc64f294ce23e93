/**
 * One answer written to thousands of node:http responses (the watchers of
 * one key woken by one write). node's `writeHead` builds the head anew for
 * every response: it validates each header name and value, concatenates
 * the lines, adds Date and Connection, and the head and the body are then
 * encoded again into the socket's write. For an answer shared by every
 * watcher of a key that work is the same each time, and with Consul's eight
 * headers it was most of the wake beyond the socket write itself
 * (bench/kv/README.md has the profile).
 *
 * So the first response of each kind of connection (kept alive or closing,
 * and the listener's keep-alive settings) is written by node as usual, and
 * the head node made for it is kept with the body as one buffer; the others
 * of that kind, within the same second (the Date line), are handed that
 * buffer as their whole message, with the fields node's own `_storeHeader`
 * would have set. The bytes are node's own, so nothing differs on the wire.
 *
 * This leans on fields of node's OutgoingMessage (`_header`, `_headerSent`,
 * `_contentLength`, `_last`), stable since Node 0.x but not an API: it is used
 * only on Node itself (Bun and Deno carry node:http implementations of their
 * own), and only when the captured head has the shape it must have.
 */
import { Buffer } from "node:buffer";
import type { ServerResponse } from "node:http";
import type { DirectAnswer } from "./serve.ts";

/** The fields of Node's own OutgoingMessage/ServerResponse that the head decides. */
interface NodeOutgoing {
  _header: string | null;
  _headerSent: boolean;
  _contentLength: number | null;
  _last: boolean;
  _expect_continue?: boolean;
  _defaultKeepAlive?: boolean;
  _keepAliveTimeout?: number;
  _maxRequestsPerSocket?: number;
  chunkedEncoding: boolean;
  shouldKeepAlive: boolean;
  maxRequestsOnConnectionReached?: boolean;
  sendDate: boolean;
  statusCode: number;
}

/** What decides the lines node adds to a head: whether the connection stays open, and the listener's keep-alive settings. */
interface Kind {
  readonly open: boolean;
  readonly keepAliveTimeout: number | undefined;
  readonly maxRequestsPerSocket: number | undefined;
  readonly defaultKeepAlive: boolean | undefined;
  readonly sendDate: boolean;
}

interface Head extends Kind {
  /** The head node wrote for the first response of its kind. */
  readonly text: string;
  /** Head and body: the whole message. */
  readonly bytes: Buffer;
  readonly last: boolean;
  readonly contentLength: number | null;
}

interface Prepared {
  readonly body: Buffer | null;
  /** The second whose Date the heads carry. */
  second: number;
  /** One per kind of connection seen (almost always one). */
  heads: Head[];
}

/** Node's own node:http (Bun's and Deno's have other insides). */
const NODE_HTTP = !("Bun" in globalThis) && !("Deno" in globalThis);

const prepared = new WeakMap<DirectAnswer, Prepared>();

function kindOf(out: NodeOutgoing): Kind {
  return {
    open: out.shouldKeepAlive && out.maxRequestsOnConnectionReached !== true,
    keepAliveTimeout: out._keepAliveTimeout,
    maxRequestsPerSocket: out._maxRequestsPerSocket,
    defaultKeepAlive: out._defaultKeepAlive,
    sendDate: out.sendDate,
  };
}

/** The head made for this response's kind, if any (no allocation: this runs once per watcher). */
function headFor(heads: readonly Head[], out: NodeOutgoing): Head | undefined {
  const open = out.shouldKeepAlive && out.maxRequestsOnConnectionReached !== true;
  for (const h of heads) {
    if (h.open === open && h.keepAliveTimeout === out._keepAliveTimeout && h.maxRequestsPerSocket === out._maxRequestsPerSocket && h.defaultKeepAlive === out._defaultKeepAlive && h.sendDate === out.sendDate) return h;
  }
  return undefined;
}

function bodyOf(a: DirectAnswer): Buffer | null {
  const b = a.body;
  if (b === null) return null;
  return typeof b === "string" ? Buffer.from(b, "utf8") : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Writes `a` (an answer that may go to many responses) on `res`; `write`
 * is the ordinary path (`writeHead` and `end`), used where the head cannot be shared.
 */
export function writeSharedAnswer(res: ServerResponse, a: DirectAnswer, write: (res: ServerResponse, a: DirectAnswer) => void): void {
  if (res.destroyed) return;
  const out = res as unknown as NodeOutgoing;
  if (!NODE_HTTP || out._header !== null || out._expect_continue === true) return write(res, a);
  const conn = res.socket;
  // Not yet this connection's turn (a pipelined request behind another): node queues it.
  if (conn === null || (conn as { _httpMessage?: unknown })._httpMessage !== res || !conn.writable) return write(res, a);
  let p = prepared.get(a);
  if (p === undefined) {
    p = { body: bodyOf(a), second: -1, heads: [] };
    prepared.set(a, p);
  }
  const second = Math.floor(Date.now() / 1000);
  if (second !== p.second) {
    p.heads = [];
    p.second = second;
  }
  const head = headFor(p.heads, out);
  if (head === undefined) {
    const kind = kindOf(out);
    write(res, a);
    const text = out._header as string | null;
    // Only a head of the expected shape, with the body framed by its length, is reused.
    if (typeof text === "string" && text.startsWith("HTTP/1.1 ") && text.endsWith("\r\n\r\n") && !out.chunkedEncoding && out._contentLength === (p.body?.length ?? 0)) {
      const bytes = p.body === null ? Buffer.from(text, "latin1") : Buffer.concat([Buffer.from(text, "latin1"), p.body]);
      p.heads.push({ ...kind, text, bytes, last: out._last, contentLength: out._contentLength });
    }
    return;
  }
  out.statusCode = a.status;
  out._header = head.text;
  out._headerSent = true;
  out._contentLength = head.contentLength;
  out._last = head.last;
  // The whole message in one write of one buffer; `end()` with nothing left to send then finishes the
  // response as node does (the next request on the connection, or its close when `_last`).
  conn.write(head.bytes);
  res.end();
}
