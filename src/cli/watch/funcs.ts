/**
 * Watch types (Consul's api/watch/funcs.go): each reads one view with a
 * blocking query and returns the index to block on next and the result in
 * the shape the Go client would hand to a handler.
 */
import { type Client, eventIdToIndex, parseJson, type RawRequest } from "../../api/mod.ts";
import { toBigInt } from "../../api/json.ts";
import { parseBool } from "../flags.ts";

export interface WatchResult {
  readonly index: bigint;
  readonly result: unknown;
}

/** Reads the view, blocking while its index still equals `last` (0n: answer at once). */
export type Watcher = (client: Client, last: bigint, signal: AbortSignal) => Promise<WatchResult>;

/** Watch parameters that do not make a plan (Consul's watch.Parse errors). */
export class WatchParseError extends Error {
  override readonly name = "WatchParseError";
}

export type WatchParams = Map<string, string | boolean | string[]>;

export interface WatchPlanSpec {
  readonly type: string;
  readonly datacenter: string;
  readonly token: string;
  readonly watcher: Watcher;
}

/** Each blocking read asks for at most this long, so no runtime's fetch gives up on it first. */
const WAIT = "60s";

interface Fetched {
  readonly status: number;
  readonly index: bigint;
  readonly body: unknown;
}

async function fetchView(client: Client, path: string, params: [string, string][], last: bigint, signal: AbortSignal, stale: boolean): Promise<Fetched> {
  const all: [string, string][] = [...params, ["wait", WAIT]];
  if (last > 0n) all.push(["index", last.toString()]);
  const request: RawRequest = { method: "GET", path, query: { stale, signal }, params: all };
  const response = await client.send(request);
  if (response.status !== 404) client.requireStatus(request, response);
  const header = response.headers.get("X-Consul-Index") ?? "0";
  const text = new TextDecoder().decode(response.body);
  return {
    status: response.status,
    index: /^\d+$/.test(header) ? BigInt(header) : 0n,
    body: response.status === 404 || text === "" ? null : parseJson(text),
  };
}

/** Go's api.KVPair field order; Flags stays an exact uint64. */
function kvPair(row: Record<string, unknown>): Record<string, unknown> {
  return {
    Key: row.Key,
    CreateIndex: row.CreateIndex,
    ModifyIndex: row.ModifyIndex,
    LockIndex: row.LockIndex,
    Flags: toBigInt(row.Flags, "Flags"),
    Value: row.Value ?? null,
    Session: row.Session ?? "",
  };
}

function take(params: WatchParams, name: string): string {
  const v = params.get(name);
  params.delete(name);
  if (v === undefined) return "";
  if (typeof v !== "string") throw new WatchParseError(`Expecting ${name} to be a string`);
  return v;
}

function takeBool(params: WatchParams, name: string): boolean {
  const v = params.get(name);
  params.delete(name);
  if (v === undefined) return false;
  if (typeof v !== "boolean") throw new WatchParseError(`Expecting ${name} to be a boolean`);
  return v;
}

function takeList(params: WatchParams, name: string): string[] {
  const v = params.get(name);
  params.delete(name);
  if (v === undefined) return [];
  if (typeof v === "string") return [v];
  if (Array.isArray(v)) return v;
  throw new WatchParseError(`Expecting ${name} to be a string or []string`);
}

const FACTORIES: Readonly<Record<string, (p: WatchParams) => Watcher>> = {
  key(p) {
    const stale = takeBool(p, "stale");
    const key = take(p, "key");
    if (key === "") throw new WatchParseError("Must specify a single key to watch");
    return async (client, last, signal) => {
      const r = await fetchView(client, `/v1/kv/${key}`, [], last, signal, stale);
      const rows = Array.isArray(r.body) ? (r.body as Record<string, unknown>[]) : [];
      return { index: r.index, result: rows.length > 0 ? kvPair(rows[0]!) : null };
    };
  },
  keyprefix(p) {
    const stale = takeBool(p, "stale");
    const prefix = take(p, "prefix");
    if (prefix === "") throw new WatchParseError("Must specify a single prefix to watch");
    return async (client, last, signal) => {
      const r = await fetchView(client, `/v1/kv/${prefix}`, [["recurse", ""]], last, signal, stale);
      return { index: r.index, result: Array.isArray(r.body) ? (r.body as Record<string, unknown>[]).map(kvPair) : null };
    };
  },
  services(p) {
    const stale = takeBool(p, "stale");
    return async (client, last, signal) => {
      const r = await fetchView(client, "/v1/catalog/services", [], last, signal, stale);
      return { index: r.index, result: r.body };
    };
  },
  nodes(p) {
    const stale = takeBool(p, "stale");
    return async (client, last, signal) => {
      const r = await fetchView(client, "/v1/catalog/nodes", [], last, signal, stale);
      return { index: r.index, result: r.body };
    };
  },
  service(p) {
    const stale = takeBool(p, "stale");
    const service = take(p, "service");
    if (service === "") throw new WatchParseError("Must specify a single service to watch");
    const tags = takeList(p, "tag");
    const passingOnly = takeBool(p, "passingonly");
    const params: [string, string][] = tags.map((t) => ["tag", t]);
    if (passingOnly) params.push(["passing", "1"]);
    return async (client, last, signal) => {
      const r = await fetchView(client, `/v1/health/service/${service}`, params, last, signal, stale);
      return { index: r.index, result: r.body };
    };
  },
  checks(p) {
    const stale = takeBool(p, "stale");
    const service = take(p, "service");
    let state = take(p, "state");
    if (service !== "" && state !== "") throw new WatchParseError("Cannot specify service and state");
    if (service === "" && state === "") state = "any";
    const tags = takeList(p, "tag");
    // The Go client's StateTags turns tags into a filter expression.
    const filter = tags.map((t) => `${JSON.stringify(t)} in ServiceTags`).join(" and ");
    return async (client, last, signal) => {
      const r =
        state !== ""
          ? await fetchView(client, `/v1/health/state/${state}`, filter ? [["filter", filter]] : [], last, signal, stale)
          : await fetchView(client, `/v1/health/checks/${service}`, [], last, signal, stale);
      return { index: r.index, result: r.body };
    };
  },
  event(p) {
    const name = take(p, "name");
    return async (client, last, signal) => {
      const r = await fetchView(client, "/v1/event/list", name ? [["name", name]] : [], last, signal, false);
      let events = Array.isArray(r.body) ? (r.body as { ID: string }[]) : [];
      // Only the events after the one the previous answer ended with are new.
      const seen = events.findIndex((e) => eventIdToIndex(e.ID) === last);
      if (seen >= 0) events = events.slice(seen + 1);
      return { index: r.index, result: events };
    };
  },
};

/** Consul's watch.Parse: the generic parameters, the type's own, and nothing left over. */
export function parseWatch(input: WatchParams): WatchPlanSpec {
  const params: WatchParams = new Map(input);
  const datacenter = take(params, "datacenter");
  const token = take(params, "token");
  const type = take(params, "type");
  if (type === "") throw new WatchParseError("Watch type must be specified");
  const factory = Object.hasOwn(FACTORIES, type) ? FACTORIES[type] : undefined;
  if (!factory) throw new WatchParseError(`Unsupported watch type: ${type}`);
  const watcher = factory(params);
  if (params.size > 0) throw new WatchParseError(`Invalid parameters: [${[...params.keys()].sort().join(" ")}]`);
  return { type, datacenter, token, watcher };
}

/** Go's strconv.ParseBool error text, for `-passingonly`. */
export function parsePassingOnly(raw: string): boolean {
  const v = parseBool(raw);
  if (v === undefined) throw new WatchParseError(`Failed to parse passingonly flag: strconv.ParseBool: parsing ${JSON.stringify(raw)}: invalid syntax`);
  return v;
}
