/** A server with ACLs on and the /v1 API over it via `app.request()` (no sockets). */
import { AgentAcl, serverResolver } from "../../src/agent/acl.ts";
import { allowAll, type ApiContext, createApp } from "../../src/http/mod.ts";
import { type Log, MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc, type Rpc } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import type { Hono } from "hono";

/** Real timers, but a wall clock the test can move forward (token expiry) without firing every periodic timer on the way. */
export class SkewClock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    return setTimeout(fn, ms);
  }
  clearTimeout(handle: unknown): void {
    clearTimeout(handle as ReturnType<typeof setTimeout>);
  }
}

export const ROOT = "11111111-2222-4333-8444-555555555555";

export interface AclHarness {
  readonly server: Server;
  /** What the app was made from (to build the direct lane over the same server). */
  readonly api: ApiContext;
  readonly app: Hono;
  readonly acl: AgentAcl;
  readonly clock: SkewClock;
  req(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Response>;
  json<T = any>(method: string, path: string, opts?: { token?: string; body?: unknown; status?: number }): Promise<T>;
  /** Routes the API's RPC through `rpc` from now on (a federation's, for ?dc=). */
  useRpc(rpc: Rpc): void;
  stop(): Promise<void>;
}

export interface AclHarnessOptions {
  defaultPolicy?: "allow" | "deny";
  enabled?: boolean;
  tokens?: Record<string, string>;
  resetPath?: string;
  /** A durable log (restart tests); a MemoryLog by default. */
  log?: Log;
  snapshotThreshold?: number;
  clock?: SkewClock;
  /** `enable_token_persistence` with this acl-tokens.json. */
  persistFile?: string;
  datacenter?: string;
  primaryDatacenter?: string;
  downPolicy?: "allow" | "deny" | "extend-cache" | "async-cache";
}

export async function startAclHarness(o: AclHarnessOptions = {}): Promise<AclHarness> {
  const enabled = o.enabled ?? true;
  const defaultPolicy = o.defaultPolicy ?? "deny";
  const clock = o.clock ?? new SkewClock();
  const server = new Server({
    datacenter: o.datacenter ?? "dc1",
    nodeName: "node1",
    nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
    advertiseAddr: "10.1.2.3",
    serverPort: 8300,
    log: o.log ?? new MemoryLog(),
    ...(o.snapshotThreshold !== undefined ? { snapshotThreshold: o.snapshotThreshold } : {}),
    connect: { enabled: false },
    clock,
    acl: { enabled, defaultPolicy, downPolicy: o.downPolicy ?? "extend-cache", initialManagement: ROOT, tokenTtlMs: 30_000, bootstrapResetPath: o.resetPath ?? "", primaryDatacenter: o.primaryDatacenter ?? "" },
  });
  await server.start();
  const acl = new AgentAcl(
    { enabled, defaultPolicy, downPolicy: o.downPolicy ?? "extend-cache", tokenTtlMs: 30_000, enableTokenPersistence: o.persistFile !== undefined, tokens: o.tokens ?? {} },
    serverResolver(server),
    "node1",
    o.persistFile ?? null,
  );
  await acl.loadPersisted();
  let rpc: Rpc = inProcessRpc(server);
  const api: ApiContext = {
    server,
    rpc: { call: (m, a, opts) => rpc.call(m, a, opts) },
    agent: {
      nodeName: "node1",
      nodeId: "5bd7bb38-9e23-4f5a-8c2b-1d8a7b3f7e10",
      datacenter: o.datacenter ?? "dc1",
      primaryDatacenter: o.primaryDatacenter ?? "dc1",
      advertiseAddr: "10.1.2.3",
      bindAddr: "0.0.0.0",
      serverPort: 8300,
      serfLanPort: 8301,
      httpPort: () => 8500,
      server: true,
      version: "1.21.0",
      revision: "test",
      startedAt: Date.now(),
    },
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, txnMaxOps: 128 },
    authorizer: allowAll,
    acl,
  };
  const app = createApp(api);
  const req: AclHarness["req"] = (method, path, opts = {}) => {
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.token !== undefined) headers["X-Consul-Token"] = opts.token;
    const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
    return Promise.resolve(app.request(`http://consul.test${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }));
  };
  return {
    server,
    api,
    app,
    acl,
    clock,
    req,
    async json(method, path, opts = {}) {
      const res = await req(method, path, opts);
      const want = opts.status ?? 200;
      if (res.status !== want) throw new Error(`${method} ${path}: expected ${want}, got ${res.status}: ${await res.text()}`);
      return res.json();
    },
    useRpc: (r) => void (rpc = r),
    stop: () => server.stop(),
  };
}
