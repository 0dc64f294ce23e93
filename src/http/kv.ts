/** `/v1/kv/*` (Consul's agent/kvs_endpoint.go). */
import type { Hono } from "hono";
import { addMeta, type ApiContext, isPretty, json, jsonText, queryOptions, readBytes, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { parseUint, type QueryOptions } from "./query.ts";
import { isPromise, type MaybePromise, type QueryReply } from "../rpc/mod.ts";
import type { KvRow } from "../state/mod.ts";
import { encodeBase64 } from "../structs/json.ts";
import { dirEntryJson, KvVerb } from "../structs/kv.ts";

/** Rejects path traversal and padded keys; Consul ≥1.21.6 no longer restricts characters. */
function validateKey(key: string): void {
  if (key.includes("../") || key.includes("..\\")) throw new HttpError(400, "key contains path traversal sequence");
  const lower = key.toLowerCase();
  if (["%2e%2e%2f", "%2e%2e/", "..%2f", "%2e%2e%5c"].some((s) => lower.includes(s))) {
    throw new HttpError(400, "key contains encoded path traversal sequence");
  }
  if (key !== key.trim()) throw new HttpError(400, "key must not begin or end with whitespace");
}

function keyOf(url: URL): string {
  return keyOfPath(url.pathname);
}

/** The key a `/v1/kv/...` path names, decoded and checked. */
export function keyOfPath(raw: string): string {
  if (raw.includes("../") || raw.includes("..\\")) throw new HttpError(400, "URL path contains invalid traversal sequence");
  const encoded = raw.slice("/v1/kv/".length);
  let key: string;
  try {
    key = decodeURIComponent(encoded);
  } catch {
    throw new HttpError(400, `Invalid key encoding: "${encoded}"`);
  }
  if (key !== "") validateKey(key);
  return key;
}

function conflicting(url: URL, ...flags: string[]): void {
  if (flags.filter((f) => url.searchParams.has(f)).length > 1) {
    // Go's url.Values.Encode lists the parameters sorted by name.
    const sorted = new URLSearchParams([...url.searchParams].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
    throw new HttpError(400, `Conflicting flags: ${sorted.toString()}\n`);
  }
}

/** Stored values never change in place, so each is encoded once however often it is read. */
const base64Cache = new WeakMap<Uint8Array, string>();

function base64Of(value: Uint8Array): string {
  let text = base64Cache.get(value);
  if (text === undefined) {
    text = encodeBase64(value);
    base64Cache.set(value, text);
  }
  return text;
}

/** The hottest answer of the API, written by hand (flags are uint64: no JSON.stringify). */
function entryJson(e: KvRow, base64: (value: Uint8Array) => string = base64Of): string {
  const value = e.Value === null ? "null" : `"${base64(e.Value)}"`;
  const session = e.Session !== "" ? `"Session":${JSON.stringify(e.Session)},` : "";
  return `{"LockIndex":${e.LockIndex},"Key":${JSON.stringify(e.Key)},"Flags":${e.Flags},"Value":${value},${session}"CreateIndex":${e.CreateIndex},"ModifyIndex":${e.ModifyIndex}}`;
}

/**
 * Rows are replaced, never changed, by a write: a row read again (thousands of
 * watchers woken by one write read the same row) is answered with the text
 * made the first time. Rows read in another datacenter (`?dc=`) arrive as new
 * objects every time: they are written without the caches (`local` false).
 */
const singleCache = new WeakMap<KvRow, string>();
const singlePrettyCache = new WeakMap<KvRow, string>();

function entriesBody(rows: readonly KvRow[], pretty: boolean, local = true): string {
  if (rows.length === 1 && local) {
    const row = rows[0]!;
    const cache = pretty ? singlePrettyCache : singleCache;
    let text = cache.get(row);
    if (text === undefined) {
      text = pretty ? jsonText([dirEntryJson(row, encodeBase64)], true) : `[${entryJson(row)}]`;
      cache.set(row, text);
    }
    return text;
  }
  if (pretty) return jsonText(rows.map((r) => dirEntryJson(r, encodeBase64)), true);
  const base64 = local ? base64Of : encodeBase64;
  let out = "[";
  for (let i = 0; i < rows.length; i++) out += (i > 0 ? "," : "") + entryJson(rows[i]!, base64);
  return out + "]";
}

/** An answer to a KV read, whichever listener lane writes it: header names as on the wire. */
export interface KvAnswer {
  readonly status: 200 | 404;
  readonly headers: Record<string, string>;
  readonly body: string | Uint8Array | null;
}

const JSON_TYPE = "application/json";

/** Where a KV read's answer goes, at once or once a parked read returns; `failed` gets a read that failed after parking. */
export interface KvSink<R> {
  readonly answered: (a: KvAnswer) => R;
  readonly failed: (err: unknown) => R;
}

function answer<T, R>(q: QueryOptions, r: MaybePromise<QueryReply<T>>, render: (value: T, headers: Record<string, string>) => KvAnswer, sink: KvSink<R>): R | Promise<Awaited<R>> {
  const consistency = q.consistency;
  const done = (res: QueryReply<T>): R => {
    const headers: Record<string, string> = {};
    addMeta(headers, res, consistency);
    return sink.answered(render(res.value, headers));
  };
  // `then` flattens an R that is itself a promise.
  return isPromise(r) ? (r.then(done, sink.failed) as Promise<Awaited<R>>) : done(r);
}

/**
 * GET /v1/kv/<key> (`?keys`, `?recurse`, `?raw`), as a value rather than a
 * hono Response, so the direct lane (direct.ts) and the router answer alike.
 * Throws an HttpError for a request Consul refuses. A parked read holds as
 * little as it can (one promise, no query parameters): thousands may wait at once.
 */
export function kvRead<R>(api: ApiContext, key: string, params: URLSearchParams, q: QueryOptions, pretty: boolean, sink: KvSink<R>): R | Promise<Awaited<R>> {
  const local = q.datacenter === api.agent.datacenter;
  if (params.has("keys")) {
    const sep = params.get("separator") ?? params.get("seperator") ?? "";
    return answer(q, api.rpc.call("KVS.ListKeys", { Prefix: key, Separator: sep }, q), (keys, headers) => {
      if (keys.length === 0 && key !== "") return { status: 404, headers, body: null };
      headers["Content-Type"] = JSON_TYPE;
      return { status: 200, headers, body: jsonText(keys, pretty) };
    }, sink);
  }
  if (params.has("recurse")) {
    return answer(q, api.rpc.call("KVS.List", { Key: key }, q), (rows, headers) => {
      if (rows.length === 0) return { status: 404, headers, body: null };
      headers["Content-Type"] = JSON_TYPE;
      return { status: 200, headers, body: entriesBody(rows, pretty, local) };
    }, sink);
  }
  if (key === "") throw new HttpError(400, "Missing key name");
  const render = params.has("raw") ? rawEntry : !local ? (row: KvRow | null, headers: Record<string, string>) => entry(row, headers, pretty, false) : pretty ? prettyEntry : compactEntry;
  return answer(q, api.rpc.call("KVS.Get", { Key: key }, q), render, sink);
}

function rawEntry(row: KvRow | null, headers: Record<string, string>): KvAnswer {
  if (!row) return { status: 404, headers, body: null };
  headers["Content-Type"] = "text/plain";
  headers["X-Content-Type-Options"] = "nosniff";
  headers["Content-Security-Policy"] = "sandbox";
  return { status: 200, headers, body: row.Value ?? new Uint8Array(0) };
}

function entry(row: KvRow | null, headers: Record<string, string>, pretty: boolean, local = true): KvAnswer {
  if (!row) return { status: 404, headers, body: null };
  headers["Content-Type"] = JSON_TYPE;
  return { status: 200, headers, body: entriesBody([row], pretty, local) };
}

const compactEntry = (row: KvRow | null, headers: Record<string, string>): KvAnswer => entry(row, headers, false);
const prettyEntry = (row: KvRow | null, headers: Record<string, string>): KvAnswer => entry(row, headers, true);

const rethrow = (err: unknown): never => {
  throw err;
};

/** Consul's 413 text for a KV body over `kv_max_value_size`. */
export function kvTooLarge(size: number, limit: number): string {
  return `Request body(${size} bytes) too large, max size: ${limit} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`;
}

export function kvRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/kv/*", (c): Response | Promise<Response> => {
    const url = urlOf(c);
    const key = keyOf(url);
    const q = queryOptions(c, api);
    const answered = (a: KvAnswer): Response => {
      for (const name in a.headers) c.header(name, a.headers[name]);
      if (a.body === null) return c.body(null, a.status);
      // A raw value is copied: the stored bytes must not be handed to a stream that may take them over.
      return c.body(typeof a.body === "string" ? a.body : new Uint8Array(a.body), a.status);
    };
    return kvRead(api, key, url.searchParams, q, q.pretty || isPretty(c), { answered, failed: rethrow });
  });

  app.put("/v1/kv/*", async (c) => {
    const url = urlOf(c);
    const key = keyOf(url);
    const q = queryOptions(c, api);
    if (key === "") throw new HttpError(400, "Missing key name");
    conflicting(url, "cas", "acquire", "release");
    const p = url.searchParams;
    let flags = "0";
    if (p.has("flags")) {
      const f = p.get("flags")!;
      if (!/^\d+$/.test(f) || BigInt(f) >= 1n << 64n) throw new HttpError(400, `Invalid flags: "${f}"`);
      flags = BigInt(f).toString();
    }
    let verb: string = KvVerb.Set;
    let modifyIndex = 0;
    let session = "";
    if (p.has("cas")) {
      verb = KvVerb.Cas;
      modifyIndex = parseUint(p.get("cas")!, "cas index");
    }
    if (p.has("acquire")) {
      verb = KvVerb.Lock;
      session = p.get("acquire")!;
    }
    if (p.has("release")) {
      verb = KvVerb.Unlock;
      session = p.get("release")!;
    }
    const limit = api.limits.kvMaxValueSize;
    const value = await readBytes(c, limit, (n) => kvTooLarge(n, limit));
    const ok = await api.rpc.call(
      "KVS.Apply",
      // Consul stores an empty body as no value at all: it reads back as `"Value": null`.
      { Op: verb as KvVerb, Entry: { Key: key, Value: value.length === 0 ? null : encodeBase64(value), Flags: flags, Session: session, ModifyIndex: modifyIndex } },
      q,
    );
    return json(c, ok, q);
  });

  app.delete("/v1/kv/*", async (c) => {
    const url = urlOf(c);
    const key = keyOf(url);
    const q = queryOptions(c, api);
    conflicting(url, "recurse", "cas");
    const p = url.searchParams;
    let verb: string = KvVerb.Delete;
    let modifyIndex = 0;
    if (p.has("recurse")) verb = KvVerb.DeleteTree;
    else if (key === "") throw new HttpError(400, "Missing key name");
    if (p.has("cas")) {
      verb = KvVerb.DeleteCas;
      modifyIndex = parseUint(p.get("cas")!, "cas index");
    }
    const ok = await api.rpc.call("KVS.Apply", { Op: verb as KvVerb, Entry: { Key: key, Value: null, Flags: "0", Session: "", ModifyIndex: modifyIndex } }, q);
    return json(c, ok, q);
  });
}
