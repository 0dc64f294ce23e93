/**
 * One HTTP request as the L7 engine sees it, independent of how it arrived
 * (an HTTP/1.1 parser, node:http2, a web Request): method, target, header
 * fields in order, the whole body (or a replayable stream), and who sent it.
 */
import type { ReplayBody } from "./body.ts";

export interface L7Request {
  readonly method: string;
  /** The request target as sent (path and query). */
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: Uint8Array;
  /** A body still streaming in (HTTP/2, gRPC); `body` is then empty. */
  readonly stream?: ReplayBody;
  /** HTTP/2's :authority (HTTP/1.1 carries it as Host). */
  readonly authority?: string;
  /** The downstream peer's address (for source-IP hashing). */
  readonly sourceIp: string;
  /**
   * The request's bytes as they came (head and whole body), when an
   * HTTP/1.1 upstream may be sent them unchanged: HTTP/1.1, CRLF lines, no
   * hop-by-hop field. Set by the HTTP/1.1 front.
   */
  readonly raw?: Uint8Array;
}

/** Case-insensitive field access; a repeated field reads as its values joined by ", ". */
export function headerGet(headers: readonly (readonly [string, string])[], name: string): string | null {
  const lower = name.toLowerCase();
  let out: string | null = null;
  for (const [k, v] of headers) if (k.toLowerCase() === lower) out = out === null ? v : `${out}, ${v}`;
  return out;
}

export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf("?");
  return q === -1 ? { path: target, query: "" } : { path: target.slice(0, q), query: target.slice(q + 1) };
}

/** The values of one query parameter (form-decoded). */
export function queryValues(query: string, name: string): string[] {
  if (query === "") return [];
  const out: string[] = [];
  for (const part of query.split("&")) {
    const eq = part.indexOf("=");
    const raw = eq === -1 ? part : part.slice(0, eq);
    let key: string;
    let value: string;
    try {
      key = decodeURIComponent(raw.replaceAll("+", " "));
      value = eq === -1 ? "" : decodeURIComponent(part.slice(eq + 1).replaceAll("+", " "));
    } catch {
      continue;
    }
    if (key === name) out.push(value);
  }
  return out;
}
