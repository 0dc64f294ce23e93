/**
 * The typed client of Consul's `/v1` HTTP API, shaped after Consul's Go `api`
 * package: one `Client` holding address, token and datacenter, and sub-clients
 * per endpoint family (`kv()`, `session()`, `catalog()`...).
 *
 * The client takes plain options; reading `CONSUL_HTTP_ADDR` and friends is
 * the caller's business (the CLI does it), so the client never touches the
 * environment.
 */
import { ApiConfigError, ApiConnectionError, ApiDecodeError, ApiError } from "./errors.ts";
import { durationToMsec } from "./duration.ts";
import { parseJson } from "./json.ts";
import { fetchNoReplay } from "../runtime/fetch.ts";
import { parseQueryMeta, type QueryMeta, type QueryOptions, type WriteOptions } from "./options.ts";
import { KV } from "./kv.ts";
import { Session } from "./session.ts";
import { ConfigEntries } from "./config_entries.ts";
import { DiscoveryChain } from "./discovery_chain.ts";
import { ConnectIntentions } from "./connect_intentions.ts";
import { ConnectCA } from "./connect_ca.ts";
import { Catalog } from "./catalog.ts";
import { Health } from "./health.ts";
import { Agent } from "./agent.ts";
import { Event } from "./event.ts";
import { Operator } from "./operator.ts";
import { Snapshot } from "./snapshot.ts";
import { Status } from "./status.ts";
import { ACL } from "./acl.ts";
import { Coordinate } from "./coordinate.ts";
import { Txn } from "./txn.ts";
import { Lock, type LockOptions } from "./lock.ts";
import { Semaphore, type SemaphoreOptions } from "./semaphore.ts";
import { hasTlsSettings, type TlsConfig, tlsFetch } from "./tls.ts";

function signalOf(request: RawRequest): AbortSignal | undefined {
  return request.query?.signal ?? request.write?.signal;
}

/**
 * `work`, or a rejection with the signal's reason as soon as `signal` aborts.
 * Node's fetch follows a Request's signal through a weak reference that is
 * lost once the Request is collected (nodejs/node#55428), so an aborted
 * blocking read could stay open until its wait ran out, and a proxy's stop
 * with it. The listener also keeps `keep` (the Request) reachable while the
 * call is open, so the abort still reaches the connection.
 */
function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, keep?: unknown): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      void keep; // referenced here so that it lives as long as the listener
      reject(signal.reason);
    };
    if (signal.aborted) return onAbort();
    signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

export interface ClientOptions {
  /** `host:port`, `http://host:port[/prefix]` or `https://...`; default `127.0.0.1:8500`. */
  readonly address?: string;
  /** Use https when the address has no scheme (what `CONSUL_HTTP_SSL=true` means). */
  readonly https?: boolean;
  /** ACL token sent as `X-Consul-Token` on every request. */
  readonly token?: string;
  /** Default datacenter (`?dc=`) for every request. */
  readonly datacenter?: string;
  /** Default upper bound for blocking queries, in milliseconds. */
  readonly waitTime?: number;
  /** Extra headers sent on every request. */
  readonly headers?: Readonly<Record<string, string>>;
  /** HTTPS settings: the agent's CA, a client certificate, the name to verify (Go's api.TLSConfig). */
  readonly tls?: TlsConfig;
  /** Transport; defaults to the global `fetch` (node:https when `tls` is given). Tests inject a fake here. */
  readonly fetch?: (request: Request) => Promise<Response>;
}

export type HttpMethod = "GET" | "PUT" | "POST" | "DELETE";

/** One request as the sub-clients describe it. */
export interface RawRequest {
  readonly method: HttpMethod;
  /** Path starting with `/v1/`, not yet URL-escaped. */
  readonly path: string;
  /** Endpoint parameters; a `null` value sends the bare flag (`?recurse=`). */
  readonly params?: ReadonlyArray<readonly [string, string]>;
  readonly query?: QueryOptions;
  readonly write?: WriteOptions;
  /** Raw bytes (KV values) or an already-encoded JSON text. */
  readonly body?: Uint8Array<ArrayBuffer> | string;
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Uint8Array;
  /** Milliseconds from sending to the last body byte. */
  readonly requestTime: number;
}

const DEFAULT_ADDRESS = "127.0.0.1:8500";

export class Client {
  readonly baseUrl: string;
  readonly pathPrefix: string;
  readonly token: string;
  readonly datacenter: string;
  readonly waitTime: number;
  private readonly headers: Readonly<Record<string, string>>;
  private readonly fetchFn: (request: Request) => Promise<Response>;

  constructor(options: ClientOptions = {}) {
    const { origin, prefix } = parseAddress(options.address || DEFAULT_ADDRESS, options.https === true);
    this.baseUrl = origin;
    this.pathPrefix = prefix;
    this.token = options.token ?? "";
    this.datacenter = options.datacenter ?? "";
    this.waitTime = options.waitTime ?? 0;
    this.headers = options.headers ?? {};
    this.fetchFn = options.fetch ?? (hasTlsSettings(options.tls) ? tlsFetch(options.tls) : fetchNoReplay);
  }

  kv(): KV {
    return new KV(this);
  }
  session(): Session {
    return new Session(this);
  }
  catalog(): Catalog {
    return new Catalog(this);
  }
  health(): Health {
    return new Health(this);
  }
  agent(): Agent {
    return new Agent(this);
  }
  event(): Event {
    return new Event(this);
  }
  status(): Status {
    return new Status(this);
  }

  acl(): ACL {
    return new ACL(this);
  }
  coordinate(): Coordinate {
    return new Coordinate(this);
  }
  snapshot(): Snapshot {
    return new Snapshot(this);
  }
  operator(): Operator {
    return new Operator(this);
  }
  txn(): Txn {
    return new Txn(this);
  }
  configEntries(): ConfigEntries {
    return new ConfigEntries(this);
  }
  discoveryChain(): DiscoveryChain {
    return new DiscoveryChain(this);
  }
  connectIntentions(): ConnectIntentions {
    return new ConnectIntentions(this);
  }
  /** The Connect CA (Go's `api.Connect` CA methods). */
  connectCA(): ConnectCA {
    return new ConnectCA(this);
  }
  /** A distributed mutex on one key (Go's `api.LockOpts`). */
  lock(options: LockOptions): Lock {
    return new Lock(this, options);
  }
  /** A counting semaphore under a prefix (Go's `api.SemaphoreOpts`). */
  semaphore(options: SemaphoreOptions): Semaphore {
    return new Semaphore(this, options);
  }

  /** Builds the URL for a request; exposed for diagnostics and tests. */
  url(request: RawRequest): string {
    const params = new URLSearchParams();
    const add = (k: string, v: string) => params.append(k, v);
    const q = request.query;
    const w = request.write;
    const dc = q?.dc || w?.dc || this.datacenter;
    if (dc) add("dc", dc);
    if (this.waitTime > 0 && q?.wait === undefined) add("wait", durationToMsec(this.waitTime));
    if (q) {
      if (q.stale) add("stale", "");
      if (q.consistent) add("consistent", "");
      if (q.index !== undefined && q.index !== 0) add("index", String(q.index));
      if (q.wait !== undefined && q.wait !== 0) add("wait", durationToMsec(q.wait));
      if (q.hash) add("hash", q.hash);
      if (q.near) add("near", q.near);
      if (q.filter) add("filter", q.filter);
      for (const [k, v] of Object.entries(q.nodeMeta ?? {})) add("node-meta", `${k}:${v}`);
      if (q.cached && !q.consistent) add("cached", "");
    }
    for (const [k, v] of request.params ?? []) add(k, v);
    params.sort();
    const search = params.toString();
    return `${this.baseUrl}${this.pathPrefix}${escapePath(request.path)}${search ? `?${search}` : ""}`;
  }

  /** Sends one request and reads the whole body. Throws `ApiConnectionError` when the agent is unreachable. */
  async send(request: RawRequest): Promise<RawResponse> {
    const started = performance.now();
    const response = await this.open(request);
    const body = new Uint8Array(await abortable(response.arrayBuffer(), signalOf(request)));
    return { status: response.status, headers: response.headers, body, requestTime: performance.now() - started };
  }

  /** Sends one request and hands back the response with its body unread (for streams such as the monitor). */
  async open(request: RawRequest): Promise<Response> {
    const url = this.url(request);
    const headers = new Headers(this.headers);
    const token = request.query?.token || request.write?.token || this.token;
    if (token) headers.set("X-Consul-Token", token);
    // The Go client labels every body as JSON (consul#10011); the agent reads KV bodies raw anyway.
    if (request.body !== undefined) headers.set("Content-Type", "application/json");
    const signal = signalOf(request);
    const init: RequestInit = { method: request.method, headers };
    if (request.body !== undefined) init.body = request.body;
    if (signal) init.signal = signal;
    try {
      const req = new Request(url, init);
      return await abortable(this.fetchFn(req), signal, req);
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new ApiConnectionError(`${goMethod(request.method)} "${url}": ${describeNetworkError(err)}`, url, {
        cause: err,
      });
    }
  }

  /** Throws `ApiError` unless the status is one of `ok` (default 200). */
  requireStatus(request: RawRequest, response: RawResponse, ok: readonly number[] = [200]): void {
    if (!ok.includes(response.status)) {
      throw new ApiError(response.status, new TextDecoder().decode(response.body).trim(), request.method, request.path);
    }
  }

  /** Decodes a JSON body, keeping large integers exact (see `parseJson`). */
  decode(request: RawRequest, response: RawResponse): unknown {
    const text = new TextDecoder().decode(response.body);
    try {
      return parseJson(text);
    } catch (err) {
      throw new ApiDecodeError(`Invalid JSON from ${request.method} ${request.path}: ${(err as Error).message}`, request.path, {
        cause: err,
      });
    }
  }

  /** GET returning decoded JSON plus metadata; any status but 200 is an `ApiError`. */
  async query<T>(
    path: string,
    query: QueryOptions | undefined,
    convert: (json: unknown) => T,
    params?: ReadonlyArray<readonly [string, string]>,
  ): Promise<[T, QueryMeta]> {
    const request: RawRequest = params ? { method: "GET", path, query: query ?? {}, params } : { method: "GET", path, query: query ?? {} };
    const response = await this.send(request);
    this.requireStatus(request, response);
    return [convert(this.decode(request, response)), parseQueryMeta(response.headers, response.requestTime)];
  }

  /** PUT (or another method) with an optional JSON body; returns the decoded JSON answer, or null for an empty body. */
  async write(
    method: HttpMethod,
    path: string,
    body: string | undefined,
    write: WriteOptions | undefined,
    params?: ReadonlyArray<readonly [string, string]>,
  ): Promise<unknown> {
    const request: RawRequest = {
      method,
      path,
      write: write ?? {},
      ...(body !== undefined ? { body } : {}),
      ...(params ? { params } : {}),
    };
    const response = await this.send(request);
    this.requireStatus(request, response);
    if (response.body.length === 0) return null;
    return this.decode(request, response);
  }
}

function parseAddress(address: string, https: boolean): { origin: string; prefix: string } {
  let scheme = https ? "https" : "http";
  let rest = address;
  const sep = address.indexOf("://");
  if (sep !== -1) {
    const given = address.slice(0, sep);
    rest = address.slice(sep + 3);
    if (given === "https") scheme = "https";
    else if (given === "unix") throw new ApiConfigError(`Unix socket addresses are not supported: ${address}`);
    else if (given !== "http") throw new ApiConfigError(`Unknown protocol scheme: ${given}`);
  }
  const slash = rest.indexOf("/");
  const host = slash === -1 ? rest : rest.slice(0, slash);
  const prefix = slash === -1 ? "" : rest.slice(slash).replace(/\/+$/, "");
  if (host === "") throw new ApiConfigError(`Missing host in address: ${JSON.stringify(address)}`);
  try {
    new URL(`${scheme}://${host}`);
  } catch {
    throw new ApiConfigError(`Invalid address: ${JSON.stringify(address)}`);
  }
  return { origin: `${scheme}://${host}`, prefix };
}

/** Escapes a path the way Go's `url.URL.EscapedPath` does: `/` and sub-delims stay. */
export function escapePath(path: string): string {
  return encodeURIComponent(path).replace(/%(2F|24|26|2B|2C|3A|3B|3D|40)/gi, (m) => decodeURIComponent(m));
}

function goMethod(method: HttpMethod): string {
  return method[0] + method.slice(1).toLowerCase();
}

function describeNetworkError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; cause?: { code?: unknown; message?: unknown } } | null;
  const code = String(e?.cause?.code ?? e?.code ?? "");
  switch (code) {
    case "ECONNREFUSED":
    case "ConnectionRefused":
      return "connect: connection refused";
    case "ECONNRESET":
    case "ConnectionReset":
      return "connection reset by peer";
    case "ENOTFOUND":
      return "no such host";
    case "ETIMEDOUT":
      return "i/o timeout";
  }
  const message = e?.cause?.message ?? e?.message;
  return typeof message === "string" && message !== "" ? message : String(err);
}
