/**
 * HTTP/1.1 message framing, just enough for a relay to find where each
 * request and response begins and ends (RFC 9112 section 6): heads are parsed,
 * bodies are passed through byte for byte while their length is tracked.
 */
import { Buffer } from "node:buffer";

export class HttpParseError extends Error {
  override readonly name = "HttpParseError";
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

export const MAX_HEAD_BYTES = 64 * 1024;

/** Header fields with case-insensitive lookup; a repeated field reads as its values joined by ", ". */
export class HeaderList {
  readonly fields: readonly (readonly [string, string])[];
  /** The field names lowercased once, so a lookup compares strings and allocates nothing. */
  private readonly lower: readonly string[];
  constructor(fields: readonly (readonly [string, string])[]) {
    this.fields = fields;
    this.lower = fields.map(([k]) => k.toLowerCase());
  }
  get(name: string): string | null {
    const lower = name.toLowerCase();
    let out: string | null = null;
    for (let i = 0; i < this.lower.length; i++) if (this.lower[i] === lower) out = out === null ? this.fields[i]![1] : `${out}, ${this.fields[i]![1]}`;
    return out;
  }
  all(name: string): string[] {
    const lower = name.toLowerCase();
    const out: string[] = [];
    for (let i = 0; i < this.lower.length; i++) if (this.lower[i] === lower) out.push(this.fields[i]![1]);
    return out;
  }
}

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  readonly version: string;
  readonly headers: HeaderList;
  /** The head's bytes exactly as received. */
  readonly raw: Uint8Array;
}

export interface ResponseHead {
  readonly status: number;
  readonly version: string;
  /** The status line's reason phrase ("" when absent). */
  readonly reason: string;
  readonly headers: HeaderList;
  readonly raw: Uint8Array;
}

export type BodyFraming = { readonly kind: "none" } | { readonly kind: "length"; readonly length: number } | { readonly kind: "chunked" } | { readonly kind: "close" };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** Index just past the blank line ending a head, or -1. */
export function headEnd(buf: Uint8Array): number {
  for (let i = 3; i < buf.length; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  // Bare LF line endings are tolerated, as most servers do.
  for (let i = 1; i < buf.length; i++) if (buf[i] === 10 && buf[i - 1] === 10) return i + 1;
  return -1;
}

/** Bytes as ISO-8859-1 (one char per byte; TextDecoder's "latin1" is windows-1252). */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** Header fields of the lines of `text` from `from` on (each line ends in LF, optionally CRLF). */
function parseFields(text: string, from: number): HeaderList {
  const fields: [string, string][] = [];
  let at = from;
  while (at < text.length) {
    let end = text.indexOf("\n", at);
    if (end === -1) end = text.length;
    const line = text.slice(at, end > at && text.charCodeAt(end - 1) === 13 ? end - 1 : end);
    at = end + 1;
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) throw new HttpParseError(400, `malformed header line: ${JSON.stringify(line.slice(0, 80))}`);
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) throw new HttpParseError(400, `invalid header name: ${JSON.stringify(name.slice(0, 80))}`);
    fields.push([name, line.slice(colon + 1).trim()]);
  }
  return new HeaderList(fields);
}

/** The first line of a head (without its line ending) and where the next one starts. */
function firstLine(text: string): [string, number] {
  const lf = text.indexOf("\n");
  if (lf === -1) return [text, text.length];
  return [text.slice(0, lf > 0 && text.charCodeAt(lf - 1) === 13 ? lf - 1 : lf), lf + 1];
}

const VERSION = /^HTTP\/1\.[01]$/;

export function parseRequestHead(raw: Uint8Array): RequestHead {
  const text = latin1(raw);
  const [line, next] = firstLine(text);
  const sp1 = line.indexOf(" ");
  const sp2 = sp1 === -1 ? -1 : line.indexOf(" ", sp1 + 1);
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = line.slice(sp2 + 1);
  if (sp1 <= 0 || sp2 === -1 || line.indexOf(" ", sp2 + 1) !== -1 || !TOKEN.test(method) || target === "" || !VERSION.test(version)) {
    throw new HttpParseError(400, `malformed request line: ${JSON.stringify(line.slice(0, 80))}`);
  }
  return { method, target, version, headers: parseFields(text, next), raw };
}

const STATUS_LINE = /^(HTTP\/1\.[01]) (\d{3})(?: (.*))?$/;

export function parseResponseHead(raw: Uint8Array): ResponseHead {
  const text = latin1(raw);
  const [line, next] = firstLine(text);
  const m = STATUS_LINE.exec(line);
  if (!m) throw new HttpParseError(502, `malformed status line: ${JSON.stringify(line.slice(0, 80))}`);
  return { version: m[1]!, status: Number(m[2]), reason: m[3] ?? "", headers: parseFields(text, next), raw };
}

function isChunked(headers: HeaderList): boolean | null {
  const te = headers.get("transfer-encoding");
  if (te === null) return null;
  const codings = te.split(",").map((c) => c.trim().toLowerCase()).filter((c) => c !== "");
  return codings[codings.length - 1] === "chunked";
}

const DIGITS = /^\d+$/;

function contentLength(headers: HeaderList, status: number): number | null {
  const all = headers.all("content-length");
  if (all.length === 0) return null;
  // The common case, one plain value, without splitting.
  if (all.length === 1 && DIGITS.test(all[0]!)) return Number(all[0]);
  const values = all.flatMap((v) => v.split(",").map((x) => x.trim()));
  if (values.some((v) => !DIGITS.test(v)) || new Set(values).size > 1) throw new HttpParseError(status, "invalid Content-Length");
  return Number(values[0]);
}

/** How a request body is delimited (RFC 9112 6.3, rules for requests). */
export function requestFraming(h: RequestHead): BodyFraming {
  const chunked = isChunked(h.headers);
  if (chunked === false) throw new HttpParseError(400, "a request's transfer coding must end with chunked");
  if (chunked) return { kind: "chunked" };
  const len = contentLength(h.headers, 400);
  return len === null || len === 0 ? { kind: "none" } : { kind: "length", length: len };
}

/** How a response body is delimited, given the request method it answers. */
export function responseFraming(h: ResponseHead, requestMethod: string): BodyFraming {
  if (requestMethod === "HEAD" || (h.status >= 100 && h.status < 200) || h.status === 204 || h.status === 304) return { kind: "none" };
  if (requestMethod === "CONNECT" && h.status >= 200 && h.status < 300) return { kind: "none" };
  const chunked = isChunked(h.headers);
  if (chunked === true) return { kind: "chunked" };
  if (chunked === false) return { kind: "close" };
  const len = contentLength(h.headers, 502);
  if (len !== null) return len === 0 ? { kind: "none" } : { kind: "length", length: len };
  return { kind: "close" };
}

/** Whether the connection ends after this message (HTTP/1.0 without keep-alive, or Connection: close). */
export function closesConnection(version: string, headers: HeaderList): boolean {
  const connection = headers.get("connection");
  if (connection === null) return version === "HTTP/1.0";
  const tokens = connection.toLowerCase().split(",").map((t) => t.trim());
  if (tokens.includes("close")) return true;
  return version === "HTTP/1.0" && !tokens.includes("keep-alive");
}

/**
 * Tracks a chunked body across arbitrary chunk boundaries. `feed` returns how
 * many bytes of `bytes` belong to the body; `done` turns true after the last
 * chunk and its trailers.
 */
export class ChunkedTracker {
  private state: "size" | "data" | "crlf" | "trailer" = "size";
  private line = "";
  private remaining = 0;
  done = false;

  feed(bytes: Uint8Array): number {
    let i = 0;
    while (i < bytes.length && !this.done) {
      switch (this.state) {
        case "size":
        case "trailer": {
          const b = bytes[i++]!;
          if (b !== 10) {
            this.line += String.fromCharCode(b);
            if (this.line.length > 4096) throw new HttpParseError(400, "chunk line too long");
            break;
          }
          const line = this.line.replace(/\r$/, "");
          this.line = "";
          if (this.state === "trailer") {
            if (line === "") this.done = true;
            break;
          }
          const hex = line.split(";")[0]!.trim();
          if (!/^[0-9a-fA-F]{1,15}$/.test(hex)) throw new HttpParseError(400, `invalid chunk size: ${JSON.stringify(hex.slice(0, 20))}`);
          this.remaining = parseInt(hex, 16);
          this.state = this.remaining === 0 ? "trailer" : "data";
          break;
        }
        case "data": {
          const take = Math.min(this.remaining, bytes.length - i);
          i += take;
          this.remaining -= take;
          if (this.remaining === 0) {
            this.state = "crlf";
            this.line = "";
          }
          break;
        }
        case "crlf": {
          const b = bytes[i++]!;
          if (b === 10) this.state = "size";
          else if (b !== 13) throw new HttpParseError(400, "chunk data not followed by CRLF");
          break;
        }
      }
    }
    return i;
  }
}
