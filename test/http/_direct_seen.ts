/** An answer as the direct-lane tests compare them: status, headers by lower-case name, the body decoded (gunzipped). */
import { expect } from "bun:test";
import { canonicalHeaderKey } from "../../src/runtime/canonical_headers.ts";
import { type DirectAnswer, type DirectHandler, type DirectRequest, LaterAnswer } from "../../src/runtime/mod.ts";

export interface Seen {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

const gunzip = async (bytes: Uint8Array): Promise<Uint8Array> =>
  new Uint8Array(await new Response(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"))).arrayBuffer());

export async function seen(status: number, headers: [string, string][], raw: Uint8Array): Promise<Seen> {
  const h = Object.fromEntries(headers.map(([k, v]) => [k.toLowerCase(), v]));
  // Compressed bytes may differ between encoders; what they decode to may not.
  const bytes = h["content-encoding"] === "gzip" ? await gunzip(raw) : raw;
  delete h["content-length"];
  return { status, headers: h, body: new TextDecoder().decode(bytes) };
}

/** What an app's Response says. */
export async function seenResponse(res: Response): Promise<Seen> {
  const pairs: [string, string][] = [];
  res.headers.forEach((v, k) => pairs.push([k, v]));
  return seen(res.status, pairs, new Uint8Array(await res.arrayBuffer()));
}

/** What a direct handler answers (null: it passed the request on); its header names must be canonical. */
export async function seenDirect(direct: DirectHandler, request: DirectRequest): Promise<Seen | null> {
  const a = direct(request);
  if (a === null) return null;
  const answer: DirectAnswer = a instanceof LaterAnswer ? await new Promise<DirectAnswer>((r) => a.onAnswer(r)) : await a;
  for (const name of Object.keys(answer.headers)) expect(name).toBe(canonicalHeaderKey(name));
  const body = answer.body === null ? new Uint8Array(0) : typeof answer.body === "string" ? new TextEncoder().encode(answer.body) : answer.body;
  return seen(answer.status, Object.entries(answer.headers), body);
}
