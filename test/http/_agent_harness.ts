/**
 * The `/v1` app with a local Agent on a MemoryLog server, driven through
 * `app.request()`. The agent shares the server's fake clock, so check
 * intervals and TTLs move only when a test advances it; anti-entropy pushes
 * changes as they happen.
 */
import type { Hono } from "hono";
import { Agent, type AgentOptions } from "../../src/agent/agent.ts";
import { inProcessCatalog } from "../../src/agent/catalog_rpc.ts";
import { createLogger } from "../../src/agent/logger.ts";
import { type AgentHooks, type ApiContext, createApp } from "../../src/http/mod.ts";
import { MemoryLog } from "../../src/log/mod.ts";
import { inProcessRpc } from "../../src/rpc/mod.ts";
import { Server } from "../../src/server/mod.ts";
import { ADDR, DC, FakeClock, NODE, NODE_ID, RecordingAuthorizer } from "./_harness.ts";

export interface AgentHarness {
  readonly server: Server;
  readonly agent: Agent;
  readonly app: Hono;
  readonly clock: FakeClock;
  readonly hooks: AgentHooks;
  /** Lines the agent logged. */
  readonly logs: string[];
  request(path: string, init?: RequestInit): Promise<Response>;
  get(path: string, headers?: Record<string, string>): Promise<Response>;
  put(path: string, body?: BodyInit | object): Promise<Response>;
  /** GET and parse JSON, insisting on `status`. */
  getJson<T = unknown>(path: string, status?: number): Promise<T>;
  /** PUT and insist on `status`; returns the body text. */
  putOk(path: string, body?: BodyInit | object, status?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface AgentHarnessOptions {
  readonly enableScriptChecks?: boolean;
  readonly enableLocalScriptChecks?: boolean;
  readonly stateFile?: string | null;
  readonly hooks?: AgentHooks;
  readonly config?: { services: unknown[]; checks: unknown[] };
  readonly agentOptions?: Partial<AgentOptions>;
}

export async function startAgentHarness(options: AgentHarnessOptions = {}): Promise<AgentHarness> {
  const clock = new FakeClock();
  const server = new Server({ datacenter: DC, nodeName: NODE, nodeId: NODE_ID, advertiseAddr: ADDR, serverPort: 8300, log: new MemoryLog(), clock });
  await server.start();
  const logs: string[] = [];
  const agent = new Agent({
    identity: {
      node: NODE,
      id: NODE_ID,
      address: ADDR,
      datacenter: DC,
      taggedAddresses: { lan: ADDR, lan_ipv4: ADDR, wan: ADDR, wan_ipv4: ADDR },
      meta: { "consul-network-segment": "" },
    },
    rpc: inProcessCatalog(server),
    clock,
    random: () => 0,
    logger: createLogger("debug", "agent", (l) => logs.push(l)),
    stateFile: options.stateFile ?? null,
    enableScriptChecks: options.enableScriptChecks ?? false,
    enableLocalScriptChecks: options.enableLocalScriptChecks ?? false,
    ...options.agentOptions,
  });
  await agent.start(options.config ?? { services: [], checks: [] });
  const hooks: AgentHooks = options.hooks ?? {};
  const api: ApiContext = {
    server,
    rpc: inProcessRpc(server),
    agent: {
      nodeName: NODE,
      nodeId: NODE_ID,
      datacenter: DC,
      primaryDatacenter: DC,
      advertiseAddr: ADDR,
      bindAddr: ADDR,
      serverPort: 8300,
      serfLanPort: 8301,
      httpPort: () => 8500,
      server: true,
      version: "1.21.0",
      revision: "test",
      startedAt: Date.now(),
    },
    limits: { kvMaxValueSize: 512 * 1024, txnMaxReqLen: 512 * 1024, txnMaxOps: 128 },
    authorizer: new RecordingAuthorizer(),
    localAgent: agent,
    hooks,
  };
  const app = createApp(api);
  const request = async (path: string, init?: RequestInit) => app.request(`http://consul.test${path}`, init);
  const body = (b: BodyInit | object | undefined): BodyInit | undefined =>
    b === undefined || typeof b === "string" || b instanceof Uint8Array ? (b as BodyInit | undefined) : JSON.stringify(b);
  const h: AgentHarness = {
    server,
    agent,
    app,
    clock,
    hooks,
    logs,
    request,
    get: (path, headers) => request(path, headers ? { headers } : undefined),
    put: (path, b) => request(path, { method: "PUT", body: body(b) }),
    async getJson<T>(path: string, status = 200) {
      const res = await request(path);
      if (res.status !== status) throw new Error(`GET ${path}: expected ${status}, got ${res.status}: ${await res.text()}`);
      return (await res.json()) as T;
    },
    async putOk(path, b, status = 200) {
      const res = await h.put(path, b);
      const text = await res.text();
      if (res.status !== status) throw new Error(`PUT ${path}: expected ${status}, got ${res.status}: ${text}`);
      return text;
    },
    async stop() {
      await agent.stop();
      await server.stop();
    },
  };
  return h;
}

/** The catalog's view of a service on the harness node (after anti-entropy). */
export function catalogService(h: AgentHarness, id: string): unknown {
  return h.server.state.t.services.get(`${NODE}\u0000${id}`)?.Service ?? null;
}

export function catalogCheck(h: AgentHarness, id: string): { Status: string; Output: string; ServiceID: string } | null {
  return h.server.state.t.checks.get(`${NODE}\u0000${id}`) ?? null;
}
