/**
 * What Consul's HTTP wrapper does around every handler: on a `-dev` agent
 * every JSON answer is indented (its marshalJSON; see `jsonText`), and a
 * client that accepts gzip gets it once the body reaches gziphandler's
 * default minimum of 1400 bytes.
 */
import type { Context, MiddlewareHandler } from "hono";
import { isSmallBody, markPretty, SMALL_BODY, urlOf } from "./context.ts";

/** gziphandler.DefaultMinSize, what Consul's API handlers use. */
export const GZIP_MIN_SIZE = SMALL_BODY;

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

/** The body gzipped, as a stream. */
export function gzipStream(body: Uint8Array): ReadableStream<Uint8Array> {
  return new Blob([body as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream("gzip"));
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
  c.res = new Response(gzipStream(body), { status: res.status, headers });
}

/** The middleware; `dev` makes every JSON answer pretty, as `consul agent -dev` does. */
export function responseEncoding(dev: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (dev) markPretty(c);
    // gziphandler names the header whatever the client sent.
    c.header("Vary", "Accept-Encoding");
    await next();
    if (isSmallBody(c.res)) return;
    if (STREAMING.has(urlOf(c).pathname) || c.req.method === "HEAD" || !c.res.body) return;
    if (
      acceptsGzip(c.req.header("Accept-Encoding")) &&
      !c.res.headers.has("Content-Encoding") &&
      COMPRESSIBLE.test(c.res.headers.get("Content-Type") ?? "")
    ) {
      await gzip(c);
    }
  };
}
