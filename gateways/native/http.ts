/**
 * HTTP/1.1 over an already-authenticated socket, in web terms: a server loop
 * that turns each request into a `Request` for a fetch-style handler (with an
 * L7 check before the handler sees it), and a client that sends one `Request`
 * and reads back a `Response`. Bodies are buffered whole.
 */
import type { Duplex } from "node:stream";
import { HttpParseError, parseRequestHead, parseResponseHead, type RequestHead, requestFraming, responseFraming, closesConnection } from "../mesh/http1.ts";
import { pumpBody, readHead } from "../mesh/h1_wire.ts";
import type { RequestDecision } from "../mesh/http_relay.ts";
import { Reader, write } from "../mesh/relay.ts";

export const MAX_BODY_BYTES = 64 * 1024 * 1024;

const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "content-length"]);
const REASONS: Record<number, string> = { 200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found", 304: "Not Modified", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Content Too Large", 429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable" };

async function collect(r: Reader, framing: Parameters<typeof pumpBody>[1]): Promise<Uint8Array<ArrayBuffer>> {
  const parts: Uint8Array[] = [];
  let size = 0;
  await pumpBody(r, framing, async (c) => {
    size += c.length;
    if (size > MAX_BODY_BYTES) throw new HttpParseError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    parts.push(c.slice());
  });
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function headText(first: string, headers: Headers, extra: string[]): string {
  const lines = [first];
  headers.forEach((v, k) => {
    if (!HOP_BY_HOP.has(k.toLowerCase())) lines.push(`${k}: ${v}`);
  });
  lines.push(...extra);
  return `${lines.join("\r\n")}\r\n\r\n`;
}

async function writeResponse(s: Duplex, res: Response, method: string, close: boolean): Promise<void> {
  const body = method === "HEAD" || res.status === 204 || res.status === 304 ? new Uint8Array(0) : new Uint8Array(await res.arrayBuffer());
  const extra = res.status === 204 || res.status === 304 ? [] : [`content-length: ${body.length}`];
  if (close) extra.push("connection: close");
  await write(s, headText(`HTTP/1.1 ${res.status} ${res.statusText || REASONS[res.status] || "Status"}`, res.headers, extra));
  if (body.length > 0) await write(s, body);
}

export type FetchHandler = (req: Request) => Response | Promise<Response>;

/** Serves HTTP/1.1 requests on one connection until it closes. */
export async function serveHttp(s: Duplex, handler: FetchHandler, decide: (head: RequestHead) => RequestDecision, onDenied?: (head: RequestHead, reason: string) => void): Promise<void> {
  const r = new Reader(s);
  try {
    for (;;) {
      const raw = await readHead(r, 431);
      if (raw === null) break;
      const head = parseRequestHead(raw);
      const body = await collect(r, requestFraming(head));
      const close = closesConnection(head.version, head.headers);
      const verdict = decide(head);
      let res: Response;
      if (!verdict.allowed) {
        onDenied?.(head, verdict.reason);
        res = new Response("RBAC: access denied", { status: 403, headers: { "content-type": "text/plain" } });
      } else {
        const headers = new Headers();
        for (const [k, v] of head.headers.fields) if (!HOP_BY_HOP.has(k.toLowerCase())) headers.append(k, v);
        const host = head.headers.get("host") ?? "localhost";
        const init: RequestInit = { method: head.method, headers };
        if (head.method !== "GET" && head.method !== "HEAD") init.body = body;
        try {
          res = await handler(new Request(`http://${host}${head.target.startsWith("/") ? head.target : `/${head.target}`}`, init));
        } catch {
          res = new Response("Internal Server Error", { status: 500 });
        }
      }
      await writeResponse(s, res, head.method, close);
      if (close) break;
    }
  } catch (err) {
    if (err instanceof HttpParseError && !s.destroyed) {
      await write(s, `HTTP/1.1 ${err.status} ${REASONS[err.status] ?? "Error"}\r\ncontent-type: text/plain\r\ncontent-length: ${err.message.length}\r\nconnection: close\r\n\r\n${err.message}`).catch(() => {});
    }
  }
  s.end();
}

/** Sends one request on `s` and reads the response (the connection is closed after it). */
export async function fetchOver(s: Duplex, req: Request): Promise<Response> {
  const url = new URL(req.url);
  const body = req.method === "GET" || req.method === "HEAD" ? new Uint8Array(0) : new Uint8Array(await req.arrayBuffer());
  const r = new Reader(s);
  const extra = [`host: ${url.host}`, "connection: close"];
  if (body.length > 0 || !["GET", "HEAD", "DELETE", "OPTIONS"].includes(req.method)) extra.push(`content-length: ${body.length}`);
  await write(s, headText(`${req.method} ${url.pathname}${url.search} HTTP/1.1`, req.headers, extra));
  if (body.length > 0) await write(s, body);
  try {
    for (;;) {
      const raw = await readHead(r, 502);
      if (raw === null) throw new Error("connection closed before a response");
      const head = parseResponseHead(raw);
      if (head.status >= 100 && head.status < 200) continue;
      const data = await collect(r, responseFraming(head, req.method));
      const headers = new Headers();
      for (const [k, v] of head.headers.fields) headers.append(k, v);
      const nullBody = head.status === 204 || head.status === 304 || req.method === "HEAD";
      return new Response(nullBody ? null : data, { status: head.status, headers });
    }
  } finally {
    s.end();
  }
}
