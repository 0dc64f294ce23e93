/**
 * What Consul's HTTP wrapper does around every handler: on a `-dev` agent
 * every JSON answer is indented (its marshalJSON; see `jsonText`), and a
 * client that accepts gzip gets it once the body reaches gziphandler's
 * default minimum of 1400 bytes.
 */
import { Buffer } from "node:buffer";
import { gzipSync } from "node:zlib";
import type { Context, MiddlewareHandler } from "hono";
import { markPretty, urlOf } from "./context.ts";
import { joinChunks } from "./json_bytes.ts";

/** gziphandler.DefaultMinSize, what Consul's API handlers use. */
export const GZIP_MIN_SIZE = 1400;

/** Streams that must reach the client line by line, never buffered whole. */
const STREAMING = new Set(["/v1/agent/monitor", "/v1/agent/metrics/stream"]);

const COMPRESSIBLE = /^(application\/(json|javascript|xml)|text\/)/i;

function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  for (const part of header.split(",")) {
    const [name, ...params] = part.trim().split(";");
    const enc = name!.trim().toLowerCase();
    if (enc !== "gzip" && enc !== "*") continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith("q="));
    if (q === undefined || Number(q.slice(2)) > 0) return true;
  }
  return false;
}

/** Whether an answer of `contentType` is sent gzipped to a client that sent `acceptEncoding` (`size`: the body's bytes). */
export function gzipWanted(acceptEncoding: string | undefined, contentType: string, size: number): boolean {
  return size >= GZIP_MIN_SIZE && acceptsGzip(acceptEncoding) && COMPRESSIBLE.test(contentType);
}

/**
 * zlib's fastest level: on a large answer (a 16 MB health listing) it costs
 * a third of the default level's CPU, a fraction of encoding the JSON, for
 * an answer about 1.5x the default level's size.
 */
const GZIP_LEVEL = 1;

/** The body gzipped, in one call over the whole buffer. */
export function gzipBytes(body: Uint8Array): Uint8Array {
  return gzipSync(body, { level: GZIP_LEVEL });
}

/** Requests whose answer is rewritten after the handler (an ACL filter): it is encoded at the end, by the middleware. */
const rewritten = new WeakSet<Request>();

/** Says this request's answer will be rewritten after its handler: `textAnswer` then leaves the body as text. */
export function encodeAtTheEnd(c: Context): void {
  rewritten.add(c.req.raw);
}

/** Answers whose body is final (encoded, and gzipped if wanted, where it was made): the middleware leaves them alone. */
const finished = new WeakSet<Response>();

/**
 * A text answer encoded once: to UTF-8 bytes, gzipped when the client takes
 * gzip and it is large enough, with no stream and no second copy of the body
 * in between (what the middleware would otherwise do after the handler).
 */
export function textAnswer(c: Context, text: string, status: 200 | 409, contentType: string): Response {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: a short text stays under gzip's minimum whatever it holds.
  if (rewritten.has(c.req.raw)) return c.body(text, status, { "Content-Type": contentType });
  if (text.length * 3 < GZIP_MIN_SIZE || c.req.method === "HEAD") return finish(c.body(text, status, { "Content-Type": contentType }));
  const bytes = Buffer.from(text, "utf8");
  if (!gzipWanted(c.req.header("Accept-Encoding"), contentType, bytes.length)) return finish(c.body(bytes, status, { "Content-Type": contentType }));
  return finish(c.body(gzipBytes(bytes) as Uint8Array<ArrayBuffer>, status, { "Content-Type": contentType, "Content-Encoding": "gzip" }));
}

/**
 * A JSON answer written as bytes (row_json.ts): what `textAnswer` gives for
 * the same text, without the text.
 */
export function bytesAnswer(c: Context, body: { readonly chunks: readonly Uint8Array[]; readonly size: number }, contentType: string): Response {
  const bytes = joinChunks(body.chunks, body.size);
  if (rewritten.has(c.req.raw)) return c.body(utf8Decoder.decode(bytes), 200, { "Content-Type": contentType });
  if (c.req.method === "HEAD" || !gzipWanted(c.req.header("Accept-Encoding"), contentType, bytes.length)) {
    return finish(c.body(bytes as Uint8Array<ArrayBuffer>, 200, { "Content-Type": contentType }));
  }
  return finish(c.body(gzipBytes(bytes) as Uint8Array<ArrayBuffer>, 200, { "Content-Type": contentType, "Content-Encoding": "gzip" }));
}

const utf8Decoder = new TextDecoder();

/** Whether this answer was made final by `textAnswer` (the middleware leaves it as it is, without reading it back). */
export function isFinal(res: Response): boolean {
  return finished.has(res);
}

function finish(res: Response): Response {
  finished.add(res);
  return res;
}

async function gzip(c: Context): Promise<void> {
  const res = c.res;
  const body = new Uint8Array(await res.arrayBuffer());
  const headers = new Headers(res.headers);
  if (!gzipWanted(c.req.header("Accept-Encoding"), res.headers.get("Content-Type") ?? "", body.length)) {
    c.res = new Response(body, { status: res.status, headers });
    return;
  }
  headers.delete("Content-Length");
  headers.set("Content-Encoding", "gzip");
  c.res = new Response(gzipBytes(body) as Uint8Array<ArrayBuffer>, { status: res.status, headers });
}

/** The middleware; `dev` makes every JSON answer pretty, as `consul agent -dev` does. */
export function responseEncoding(dev: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (dev) markPretty(c);
    // gziphandler names the header whatever the client sent.
    c.header("Vary", "Accept-Encoding");
    await next();
    // The cheap tests first: asking for the body makes a runtime Response of a lightweight one (and a copy of the body).
    if (finished.has(c.res) || c.req.method === "HEAD" || !acceptsGzip(c.req.header("Accept-Encoding")) || STREAMING.has(urlOf(c).pathname)) return;
    if (!c.res.headers.has("Content-Encoding") && COMPRESSIBLE.test(c.res.headers.get("Content-Type") ?? "") && c.res.body) await gzip(c);
  };
}
