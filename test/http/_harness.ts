/**
 * Drives the `/v1` API through `app.request()`: a Server on a MemoryLog with a
 * fake clock (session TTLs, tombstone reaping) and a recording authorizer, so
 * handler tests need no sockets. Blocking-query deadlines use real time.
 */
import type { Hono } from "hono";
import { type ApiContext, type Authorizer, createApp } from "../../src/http/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc, type Rpc } from "../../src/rpc/mod.ts";
import type { RequestCache } from "../../src/agent/request_cache.ts";
import type { Clock } from "../../src/server/mod.ts";
import { Server } from "../../src/server/mod.ts";

export const DC = "dc1";
export const NODE = "node1";
export const NODE_ID = "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10";
export const ADDR = "10.1.2.3";
export const KV_MAX = 512 * 1024;

/** A clock whose timers run only when the test advances it. */
export class FakeClock implements Clock {
  private current: number;
  private seq = 0;
  private readonly timers = new Map<number, { at: number; fn: () => void }>();

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = ++this.seq;
    this.timers.set(id, { at: this.current + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.timers.delete(handle as number);
  }

  /** Moves time forward, running each timer that falls due in order. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      let next: [number, { at: number; fn: () => void }] | undefined;
      for (const entry of this.timers) if (entry[1].at <= end && (!next || entry[1].at < next[1].at)) next = entry;
      if (!next) break;
      this.timers.delete(next[0]);
      this.current = Math.max(this.current, next[1].at);
      next[1].fn();
    }
    this.current = end;
  }

  get pending(): number {
    return this.timers.size;
  }
}

/** Records every request it sees; denies all when `deny` is set. */
export class RecordingAuthorizer implements Authorizer {
  readonly seen: { token: string; method: string; path: string }[] = [];
  deny = false;

  authorize(request: { token: string; method: string; path: string }): boolean {
    this.seen.push(request);
    return !this.deny;
  }
}

export interface Harness {
  readonly server: Server;
  /** What the app was made from (to build the direct lane over the same server). */
  readonly api: ApiContext;
  readonly app: Hono;
  readonly clock: FakeClock;
  readonly authorizer: RecordingAuthorizer;
  request(path: string, init?: RequestInit): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  put(path: string, body?: BodyInit | object, headers?: Record<string, string>): Promise<Response>;
  del(path: string): Promise<Response>;
  /** GET and parse JSON, insisting on `status`. */
  getJson<T = unknown>(path: string, status?: number): Promise<T>;
  /** PUT (objects are sent as JSON) and parse JSON, insisting on `status`. */
  putJson<T = unknown>(path: string, body?: BodyInit | object, status?: number): Promise<T>;
  stop(): Promise<void>;
}

export interface HarnessOptions {
  kvMaxValueSize?: number;
  txnMaxReqLen?: number;
  ui?: ApiContext["ui"];
  devMode?: boolean;
  /** An agent cache for `?cached` reads (stopped with the harness). */
  cache?: RequestCache;
  /** `http_config.use_cache`. */
  httpUseCache?: boolean;
  /** Wraps the in-process RPC (to make the servers unreachable, say). */
  rpc?: (rpc: Rpc) => Rpc;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = new FakeClock();
  const server = new Server({
    datacenter: DC,
    nodeName: NODE,
    nodeId: NODE_ID,
    advertiseAddr: ADDR,
    serverPort: 8300,
    log: new MemoryLog(),
    clock,
  });
  await server.start();
  const authorizer = new RecordingAuthorizer();
  const api: ApiContext = {
    server,
    rpc: options.rpc ? options.rpc(inProcessRpc(server)) : inProcessRpc(server),
    ...(options.cache ? { cache: options.cache } : {}),
    ...(options.httpUseCache !== undefined ? { httpUseCache: options.httpUseCache } : {}),
    agent: {
      nodeName: NODE,
      nodeId: NODE_ID,
      datacenter: DC,
      primaryDatacenter: DC,
      advertiseAddr: ADDR,
      bindAddr: "0.0.0.0",
      serverPort: 8300,
      serfLanPort: 8301,
      httpPort: () => 8500,
      server: true,
      version: "1.21.0",
      revision: "test",
      startedAt: Date.now(),
      devMode: options.devMode ?? false,
    },
    limits: {
      kvMaxValueSize: options.kvMaxValueSize ?? KV_MAX,
      txnMaxReqLen: options.txnMaxReqLen ?? KV_MAX,
      txnMaxOps: 128,
    },
    authorizer,
    ...(options.ui ? { ui: options.ui } : {}),
  };
  const app = createApp(api);
  const url = (path: string) => `http://consul.test${path}`;
  const request = async (path: string, init?: RequestInit) => app.request(url(path), init);
  const body = (b: BodyInit | object | undefined): BodyInit | undefined =>
    b === undefined || typeof b === "string" || b instanceof Uint8Array || b instanceof ArrayBuffer ? (b as BodyInit | undefined) : JSON.stringify(b);
  const expectStatus = async (res: Response, status: number, what: string): Promise<void> => {
    if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${await res.text()}`);
  };
  const h: Harness = {
    server,
    api,
    app,
    clock,
    authorizer,
    request,
    get: (path, headers) => request(path, headers ? { headers } : undefined),
    put: (path, b, headers) => request(path, { method: "PUT", body: body(b), ...(headers ? { headers } : {}) }),
    del: (path) => request(path, { method: "DELETE" }),
    async getJson<T>(path: string, status = 200) {
      const res = await request(path);
      await expectStatus(res, status, `GET ${path}`);
      return (await res.json()) as T;
    },
    async putJson<T>(path: string, b?: BodyInit | object, status = 200) {
      const res = await h.put(path, b);
      await expectStatus(res, status, `PUT ${path}`);
      return (await res.json()) as T;
    },
    stop: async () => {
      options.cache?.stop();
      await server.stop();
    },
  };
  return h;
}

export const enc = (s: string): string => btoa(s);
export const dec = (s: string | null): string | null => (s === null ? null : atob(s));

export function index(res: Response): number {
  const raw = res.headers.get("X-Consul-Index");
  if (raw === null) throw new Error("response has no X-Consul-Index");
  return Number(raw);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Tracks whether a promise has settled, without awaiting it. */
export function track<T>(p: Promise<T>): { readonly settled: boolean; readonly promise: Promise<T> } {
  const state = { settled: false, promise: p };
  p.then(
    () => (state.settled = true),
    () => (state.settled = true),
  );
  return state;
}

/** Registers a node with an optional service and checks through the API. */
export async function register(h: Harness, body: Record<string, unknown>): Promise<void> {
  const res = await h.put("/v1/catalog/register", body);
  if (res.status !== 200) throw new Error(`register failed ${res.status}: ${await res.text()}`);
}

/** Creates a session and returns its ID. */
export async function createSession(h: Harness, body: Record<string, unknown> = {}): Promise<string> {
  const out = await h.putJson<{ ID: string }>("/v1/session/create", body);
  return out.ID;
}
