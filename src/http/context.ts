/** What HTTP handlers are given: the server, who this agent is, and shared helpers. */
import type { Context } from "hono";
import { HttpError } from "./errors.ts";
import { textAnswer } from "./response_encoding.ts";
import { type QueryOptions, parseQueryOptions } from "./query.ts";
import type { RequestMetrics } from "./metrics.ts";
import type { Agent } from "../agent/agent.ts";
import type { LogBroker } from "../agent/log_broker.ts";
import type { LeafCerts } from "../agent/leaf_certs.ts";
import type { RequestCache } from "../agent/request_cache.ts";
import { isPromise, type MaybePromise, type QueryReply, type Rpc } from "../rpc/mod.ts";
import type { Server } from "../server/mod.ts";
import type { GossipPool } from "../gossip/mod.ts";
import { compileFilter, type FieldSchema } from "../filter/mod.ts";
import { parseJsonPreservingBigInts, toJson } from "../structs/json.ts";
import { bodyProblem } from "../structs/limits.ts";
import type { AgentAcl } from "../agent/acl.ts";
import type { UiOptions } from "./ui.ts";

export interface AgentInfo {
  readonly nodeName: string;
  readonly nodeId: string;
  readonly datacenter: string;
  readonly advertiseAddr: string;
  readonly bindAddr: string;
  readonly serverPort: number;
  readonly serfLanPort: number;
  readonly httpPort: () => number;
  readonly server: boolean;
  readonly version: string;
  readonly revision: string;
  readonly primaryDatacenter: string;
  readonly startedAt: number;
  /** Whether gossip is encrypted (for `Stats` in /v1/agent/self). */
  readonly gossipEncrypted?: boolean;
  /** `default_intention_policy`: what /v1/agent/connect/authorize decides when no intention matches (unset: the ACL default, allow). */
  readonly defaultIntentionPolicy?: "allow" | "deny";
  /** `disable_coordinates`: the /v1/coordinate endpoints answer 401 "Coordinate support disabled". */
  readonly disableCoordinates?: boolean;
  /** The data directory (`/v1/agent/host` reports its disk); "" for none. */
  readonly dataDir?: string;
  /** A `-dev` agent: every JSON answer is indented, as Consul's is in dev mode. */
  readonly devMode?: boolean;
  /** `translate_wan_addrs`: another datacenter's nodes and services are shown with their WAN addresses (translate_addrs.ts). */
  readonly translateWanAddrs?: boolean;
}

/** What the HTTP API shows of federation (federation/ implements it). */
export interface FederationApi {
  readonly primary: string;
  /** Gauges for `/v1/agent/metrics`: reachability per datacenter, replication. */
  gauges(): readonly { readonly name: string; readonly value: number; readonly labels: Record<string, string> }[];
  /** `/v1/operator/replication`. */
  replicationStatus(): object;
  /** The primary this server follows, and since which promotion (0: as configured). */
  readonly primaryClaim: { readonly datacenter: string; readonly epoch: number };
  /** Makes this datacenter the primary. */
  promote(): Promise<{ readonly datacenter: string; readonly epoch: number }>;
  datacenters(): readonly { readonly datacenter: string; readonly rttMs: number }[];
}

export interface Limits {
  readonly kvMaxValueSize: number;
  readonly txnMaxReqLen: number;
  readonly txnMaxOps: number;
  /** How long a request body may take to arrive before the request is answered 408 (30 s when absent). */
  readonly httpReadTimeoutMs?: number;
}

/** The single hook every request passes through; allow-all until ACLs land. */
export interface Authorizer {
  authorize(request: { token: string; method: string; path: string }): boolean;
}

export const allowAll: Authorizer = { authorize: () => true };

/** Process memory, as the runtime reports it (bytes). */
export interface MemoryFigures {
  readonly rss: number;
  readonly heapTotal: number;
  readonly heapUsed: number;
}

/** What the agent's process does for `/v1/agent/leave`, `/reload` and `/metrics`. */
export interface AgentHooks {
  /** Starts a graceful shutdown; called once the answer to the request is written. */
  leave?(): void;
  /** Re-reads the configuration files and applies them. */
  reload?(): Promise<void>;
  memory?(): MemoryFigures;
}

export interface ApiContext {
  /**
   * Every catalog, health, KV, session, txn and status request goes through
   * this: in-process on a server agent, over the server RPC port on a client.
   */
  readonly rpc: Rpc;
  /** The server in this process; absent on a client agent. */
  readonly server?: Server;
  /** How many servers a client agent knows to forward to. */
  readonly knownServers?: () => number;
  /** The LAN gossip pool (members, join, force-leave, keyring, events); absent without gossip. */
  readonly lan?: GossipPool;
  /** The WAN pool of a server agent. */
  readonly wan?: GossipPool;
  readonly agent: AgentInfo;
  readonly limits: Limits;
  readonly authorizer: Authorizer;
  /** The agent's ACL configuration and token resolution; absent or disabled: no ACLs. */
  readonly acl?: AgentAcl;
  /** The local agent (services, checks, events); the /v1/agent service and check endpoints need it. */
  readonly localAgent?: Agent;
  /** The agent's log lines for `/v1/agent/monitor`; absent for an agent nobody can watch. */
  readonly logs?: LogBroker;
  readonly hooks?: AgentHooks;
  /** The agent cache behind `?cached` reads (cached.ts); absent: `?cached` reads go to the servers. */
  readonly cache?: RequestCache;
  /** `http_config.use_cache`: false turns `?cached` off (reads go to the servers); absent: on. */
  readonly httpUseCache?: boolean;
  /** The agent's CA roots and leaf certificate caches (`/v1/agent/connect/ca/*`). */
  readonly leafCerts?: LeafCerts;
  /** Other datacenters (a federated server agent); absent when not federated. */
  readonly federation?: FederationApi;
  /** The web UI (`ui_config`); absent: no UI, as with `ui_config.enabled = false`. */
  readonly ui?: UiOptions;
  /** The agent's settings under Consul's RuntimeConfig names, sanitized (`DebugConfig` of /v1/agent/self). */
  readonly debugConfig?: () => Record<string, unknown>;
  /** Per-endpoint request timings for `/v1/agent/metrics`; createApp makes one when absent. */
  readonly metrics?: RequestMetrics;
}

const urls = new WeakMap<Request, URL>();

/** The request URL, parsed once per request however many handlers ask. */
export function urlOf(c: Context): URL {
  let url = urls.get(c.req.raw);
  if (!url) {
    url = new URL(c.req.url);
    urls.set(c.req.raw, url);
  }
  return url;
}

const tokens = new WeakMap<Request, string>();

/** Records the token a request acts with (set once by the ACL middleware). */
export function setRequestToken(c: Context, token: string): void {
  tokens.set(c.req.raw, token);
}

/** The token a request acts with: its own, else the agent's default token, else "" (anonymous). */
export function tokenOf(c: Context): string {
  return tokens.get(c.req.raw) ?? "";
}

/** The request's query options, carrying its ACL token to the server. */
export function queryOptions(c: Context, api: ApiContext): QueryOptions {
  const q = parseQueryOptions(urlOf(c), api.agent.datacenter);
  // A blocking read forwarded to another datacenter is cancelled there when the client goes away.
  const token = tokens.get(c.req.raw);
  const withToken = token ? { ...q, token } : q;
  return withToken.minIndex > 0 && withToken.datacenter !== api.agent.datacenter ? { ...withToken, signal: c.req.raw.signal } : withToken;
}

/** Consul's query meta headers, under their names on the wire; X-Consul-Index is never 0. */
export function addMeta(headers: Record<string, string>, meta: QueryReply<unknown>, consistency: QueryOptions["consistency"]): void {
  headers["X-Consul-Index"] = String(Math.max(1, meta.index));
  headers["X-Consul-Knownleader"] = meta.knownLeader === false ? "false" : "true";
  headers["X-Consul-Lastcontact"] = String(meta.lastContact ?? 0);
  headers["X-Consul-Effective-Consistency"] = consistency === "default" ? "leader" : consistency;
  if (meta.filteredByACLs) headers["X-Consul-Results-Filtered-By-Acls"] = "true";
}

/** Sets Consul's query meta headers. */
export function setMeta(c: Context, meta: QueryReply<unknown>, q: QueryOptions): void {
  const headers: Record<string, string> = {};
  addMeta(headers, meta, q.consistency);
  for (const name in headers) c.header(name, headers[name]);
}

const prettyRequests = new WeakSet<Request>();

/** Makes every JSON answer to this request indented (a `-dev` agent marks them all). */
export function markPretty(c: Context): void {
  prettyRequests.add(c.req.raw);
}

/** Whether a JSON answer is indented: `?pretty`, or a `-dev` agent. */
export function isPretty(c: Context): boolean {
  return prettyRequests.has(c.req.raw) || urlOf(c).searchParams.has("pretty");
}

/**
 * A JSON body as Consul's marshalJSON writes it: compact, or indented with
 * four spaces and ended by a newline when pretty.
 */
export function jsonText(body: unknown, pretty: boolean): string {
  return pretty ? toJson(body, true) + "\n" : toJson(body);
}

export function json(c: Context, body: unknown, q?: { pretty: boolean }, status: 200 | 409 = 200): Response {
  return textAnswer(c, jsonText(body, q?.pretty || isPretty(c)), status, "application/json");
}

/**
 * Writes a read's reply with its meta headers. A reply that is already there
 * (the in-process, non-blocking case) is answered without a promise.
 */
export function reply<T>(
  c: Context,
  q: QueryOptions,
  r: MaybePromise<QueryReply<T>>,
  render: (value: T, q: QueryOptions) => Response,
): Response | Promise<Response> {
  if (isPromise(r)) {
    return r.then((res) => {
      setMeta(c, res, q);
      return render(res.value, q);
    });
  }
  setMeta(c, r, q);
  return render(r.value, q);
}

/**
 * The server in this process, for the few endpoints that have not moved to
 * RPC yet; a client agent answers them with a 500 that says so.
 */
export function localServer(api: ApiContext): Server {
  if (!api.server) throw new HttpError(500, "This endpoint is answered only by server agents: send the request to a server's HTTP address");
  return api.server;
}

export function checkDatacenter(api: ApiContext, dc: string): void {
  if (dc !== api.agent.datacenter) throw new HttpError(500, "No path to datacenter");
}

/** Applies `?filter=` when present. */
export function applyFilter<T>(items: T[], q: QueryOptions, schema: FieldSchema, view: (item: T) => unknown = (x) => x): T[] {
  if (q.filter === "") return items;
  const pred = compileFilter(q.filter, schema);
  return items.filter((item) => pred(view(item)));
}

/** A request body's JSON whose fields are within their size limits (structs/limits.ts); throws a TypeError naming the field otherwise. */
export function parseBody(text: string): unknown {
  const value = parseJsonPreservingBigInts(text);
  const problem = bodyProblem(value);
  if (problem !== null) throw new TypeError(problem);
  return value;
}

/** How large a JSON request body may be unless the endpoint says otherwise. */
export const JSON_BODY_LIMIT = 64 * 1024 * 1024;

/** Decodes a JSON body (case-insensitive decoding is up to the caller); null when empty. */
export async function readJson(c: Context, limit = JSON_BODY_LIMIT): Promise<unknown> {
  return jsonOfText(await readText(c, limit));
}

/** `readJson` of a body already read (the direct lane's). */
export function jsonOfBytes(bytes: Uint8Array): unknown {
  return jsonOfText(textOfBytes(bytes));
}

function jsonOfText(text: string): unknown {
  if (text.trim() === "") return null;
  try {
    return parseBody(text);
  } catch (err) {
    throw new HttpError(400, `Request decode failed: ${(err as Error).message}`);
  }
}

/** Invalid UTF-8 is refused rather than stored as U+FFFD (a node name or key would no longer be what the client sent). */
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

export async function readText(c: Context, limit: number): Promise<string> {
  return textOfBytes(await readBytes(c, limit, (n) => `Request body too large, max size: ${limit} bytes (got ${n})`));
}

function textOfBytes(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    throw new HttpError(400, "Request decode failed: body is not valid UTF-8");
  }
}

/** How long a body may take to arrive unless the listener says otherwise (`limits.http_read_timeout`). */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 30_000;

/**
 * Reads the body, stopping as soon as it passes `limit`, so a body without a
 * Content-Length cannot exhaust memory, or its deadline, so a body trickled a
 * byte at a time cannot hold a request (and its connection) open for ever.
 */
export async function readBytes(c: Context, limit: number, tooLarge: (size: number) => string): Promise<Uint8Array> {
  const env = c.env as { readTimeoutMs?: number } | undefined;
  const ms = env?.readTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(bodyLate(ms)), ms);
  });
  try {
    return await Promise.race([readBody(c, limit, tooLarge), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A body that has not arrived within `ms`: a 408 (the app's answer to it also closes the connection). */
export function bodyLate(ms: number): HttpError {
  return new HttpError(408, `Request body not received within ${ms} ms`);
}

async function readBody(c: Context, limit: number, tooLarge: (size: number) => string): Promise<Uint8Array> {
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > limit) throw new HttpError(413, tooLarge(declared));
  // A declared length within the limit: read the body in one native call (the stream reader costs far more per request).
  if (c.req.header("content-length") !== undefined && declared <= limit) {
    const body = new Uint8Array(await c.req.raw.arrayBuffer());
    if (body.length > limit) throw new HttpError(413, tooLarge(body.length));
    return body;
  }
  const stream = c.req.raw.body;
  if (stream === null) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw new HttpError(413, tooLarge(size));
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return body;
}
