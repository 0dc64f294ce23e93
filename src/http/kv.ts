/** `/v1/kv/*` (Consul's agent/kvs_endpoint.go). */
import type { Hono } from "hono";
import { type ApiContext, isPretty, json, jsonText, queryOptions, readBytes, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { has, parseUint } from "./query.ts";
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
  const raw = url.pathname;
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

/** Flags are uint64 (bigint), which `toJson` writes as bare exact integers. */
/** The hottest answer of the API, written by hand (flags are uint64: no JSON.stringify). */
const base64Cache = new WeakMap<Uint8Array, string>();

/** Stored values never change in place, so each is encoded once however often it is read. */
function base64Of(value: Uint8Array): string {
  let text = base64Cache.get(value);
  if (text === undefined) {
    text = encodeBase64(value);
    base64Cache.set(value, text);
  }
  return text;
}

function entryJson(e: KvRow): string {
  const value = e.Value === null ? "null" : `"${base64Of(e.Value)}"`;
  const session = e.Session !== "" ? `"Session":${JSON.stringify(e.Session)},` : "";
  return `{"LockIndex":${e.LockIndex},"Key":${JSON.stringify(e.Key)},"Flags":${e.Flags},"Value":${value},${session}"CreateIndex":${e.CreateIndex},"ModifyIndex":${e.ModifyIndex}}`;
}

function entriesBody(rows: readonly KvRow[], pretty: boolean): string {
  if (pretty) return jsonText(rows.map((r) => dirEntryJson(r, encodeBase64)), true);
  let out = "[";
  for (let i = 0; i < rows.length; i++) out += (i > 0 ? "," : "") + entryJson(rows[i]!);
  return out + "]";
}

/** Consul's 413 text for a KV body over `kv_max_value_size`. */
export function kvTooLarge(size: number, limit: number): string {
  return `Request body(${size} bytes) too large, max size: ${limit} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`;
}

export function kvRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/kv/*", (c) => {
    const url = urlOf(c);
    const key = keyOf(url);
    const q = queryOptions(c, api);
    if (has(url, "keys")) {
      const sep = url.searchParams.get("separator") ?? url.searchParams.get("seperator") ?? "";
      return reply(c, q, api.rpc.call("KVS.ListKeys", { Prefix: key, Separator: sep }, q), (keys, q) => {
        if (keys.length === 0 && key !== "") return c.body(null, 404);
        return json(c, keys, q);
      });
    }
    if (has(url, "recurse")) {
      return reply(c, q, api.rpc.call("KVS.List", { Key: key }, q), (rows, q) => {
        if (rows.length === 0) return c.body(null, 404);
        return c.body(entriesBody(rows, q.pretty || isPretty(c)), 200, { "Content-Type": "application/json" });
      });
    }
    if (key === "") throw new HttpError(400, "Missing key name");
    return reply(c, q, api.rpc.call("KVS.Get", { Key: key }, q), (row, q) => {
      if (!row) return c.body(null, 404);
      if (has(url, "raw")) {
        return c.body(new Uint8Array(row.Value ?? new Uint8Array(0)), 200, {
          "Content-Type": "text/plain",
          "X-Content-Type-Options": "nosniff",
          "Content-Security-Policy": "sandbox",
        });
      }
      return c.body(entriesBody([row], q.pretty || isPretty(c)), 200, { "Content-Type": "application/json" });
    });
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
