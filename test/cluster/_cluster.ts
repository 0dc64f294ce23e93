/**
 * A cluster of `consulate agent -server -bootstrap-expect N -nats ...`
 * processes on a real NATS cluster (see ../_nats.ts), each on free loopback
 * ports with its own data dir; servers can be killed, restarted (same ports,
 * same or wiped data dir) and stopped. `stop()` tears everything down.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, freePort, startAgent, tempDir } from "../e2e/_agent.ts";
import type { NatsCluster } from "../_nats.ts";

export interface ClusterServer {
  readonly name: string;
  readonly dataDir: string;
  readonly httpPort: number;
  readonly serverPort: number;
  readonly serfLanPort: number;
  /** UDP and TCP port of its DNS interface. */
  readonly dnsPort: number;
  readonly base: string;
  /** NATS URLs this server is given. */
  natsUrls: string[];
  proc: AgentProcess | null;
}

export interface ServerClusterHandle {
  readonly servers: ClusterServer[];
  readonly dir: string;
  /** SIGKILL one server. */
  kill(i: number): Promise<void>;
  /** SIGTERM one server and wait. */
  stopServer(i: number): Promise<void>;
  /** Starts a stopped server again; `wipe` empties its data dir first. */
  restart(i: number, opts?: { wipe?: boolean }): Promise<void>;
  stop(): Promise<void>;
}

export interface ServerClusterOptions {
  readonly size?: number;
  /** NATS URLs for server i (default: every node of the cluster). */
  readonly natsUrls?: (i: number) => string[];
  /** Extra agent config (raft_snapshot_threshold, nats.lease_ttl, ...). */
  readonly config?: Record<string, unknown>;
  readonly datacenter?: string;
}

export async function startServerCluster(nats: NatsCluster, opts: ServerClusterOptions = {}): Promise<ServerClusterHandle> {
  const size = opts.size ?? 3;
  const tmp = await tempDir("consulate-cluster-");
  const servers: ClusterServer[] = [];
  for (let i = 0; i < size; i++) {
    const httpPort = await freePort();
    servers.push({
      name: `s${i}`,
      dataDir: join(tmp.path, `s${i}`),
      httpPort,
      serverPort: await freePort(),
      serfLanPort: await freePort(),
      dnsPort: await freePort(),
      base: `http://127.0.0.1:${httpPort}`,
      natsUrls: opts.natsUrls?.(i) ?? nats.urls,
      proc: null,
    });
  }
  const configFile = join(tmp.path, "cluster.json");
  await writeFile(configFile, JSON.stringify({ datacenter: opts.datacenter ?? "dc1", ...opts.config }));

  const launch = async (s: ClusterServer) => {
    await mkdir(s.dataDir, { recursive: true });
    s.proc = await startAgent(
      [
        "-server",
        "-bootstrap-expect",
        String(size),
        "-nats",
        s.natsUrls.join(","),
        "-node",
        s.name,
        "-data-dir",
        s.dataDir,
        "-server-port",
        String(s.serverPort),
        "-serf-lan-port",
        String(s.serfLanPort),
        "-dns-port",
        String(s.dnsPort),
        // The servers gossip with each other, so the leader reconciles them all into the catalog.
        ...servers.filter((o) => o !== s).flatMap((o) => ["-retry-join", `127.0.0.1:${o.serfLanPort}`]),
        "-config-file",
        configFile,
      ],
      { port: s.httpPort },
    );
  };

  const handle: ServerClusterHandle = {
    servers,
    dir: tmp.path,
    async kill(i) {
      await servers[i]!.proc?.kill();
      servers[i]!.proc = null;
    },
    async stopServer(i) {
      await servers[i]!.proc?.stop();
      servers[i]!.proc = null;
    },
    async restart(i, o = {}) {
      const s = servers[i]!;
      if (s.proc !== null) throw new Error(`${s.name} is still running`);
      if (o.wipe) await rm(s.dataDir, { recursive: true, force: true });
      await launch(s);
    },
    async stop() {
      await Promise.all(servers.map((s) => s.proc?.kill()));
      for (const s of servers) s.proc = null;
      await tmp.remove();
    },
  };
  try {
    await Promise.all(servers.map(launch));
  } catch (err) {
    await handle.stop();
    throw err;
  }
  return handle;
}

/** fetch with a deadline; a hung request counts as a failure. */
export async function http(url: string, init: RequestInit = {}, timeoutMs = 20_000): Promise<Response> {
  return fetch(url, { ...init, signal: AbortSignal.timeout(timeoutMs) });
}

export async function eventually<T>(what: string, fn: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const v = await fn();
      if (v !== null && v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
