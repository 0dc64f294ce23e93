/**
 * Real NATS for tests: a cluster of `nats-server` processes (Debian's
 * package, /usr/sbin/nats-server) with JetStream on, on free loopback ports,
 * each with its own store directory in one temp folder. Nodes can be killed,
 * stopped (SIGSTOP) and restarted with the same ports and store, so tests can
 * inject faults; `stop()` tears everything down, processes and files.
 *
 * @example
 * ```ts
 * const nats = await startNatsCluster();
 * try {
 *   const nc = await connect({ servers: nats.urls });
 *   await nats.kill(0);
 *   await nats.restart(0);
 * } finally {
 *   await nats.stop();
 * }
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { connect as tcpConnect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ConnectionOptions } from "@nats-io/transport-node";
import { jetstreamManager } from "@nats-io/jetstream";
import { freePort } from "./e2e/_agent.ts";

export const NATS_SERVER = ["/usr/sbin/nats-server", "/usr/bin/nats-server"].find((p) => existsSync(p)) ?? "nats-server";

export interface NatsNode {
  readonly name: string;
  readonly port: number;
  readonly clusterPort: number;
  readonly url: string;
  readonly storeDir: string;
  /** The running process, or null while the node is down. */
  child: ChildProcess | null;
  /** Everything the process printed (all its lives). */
  output: string;
}

export interface NatsCluster {
  readonly nodes: readonly NatsNode[];
  /** Client URLs of every node (`nats://127.0.0.1:<port>`). */
  readonly urls: string[];
  readonly dir: string;
  /** SIGKILL one node and wait for it to exit. */
  kill(i: number): Promise<void>;
  /** SIGTERM one node (a graceful shutdown: it hands its Raft leaderships over) and wait for it to exit. */
  terminate(i: number): Promise<void>;
  /** Starts a killed node again with the same ports and store, and waits until it accepts clients. */
  restart(i: number): Promise<void>;
  /** SIGSTOP / SIGCONT one node (a paused process: sockets stay open, nothing answers). */
  pause(i: number): void;
  resume(i: number): void;
  /** Waits until JetStream answers through the given node (meta leader known). */
  waitJetStream(i?: number, timeoutMs?: number): Promise<void>;
  /** Kills every node and removes the temp folder. Safe to call twice. */
  stop(): Promise<void>;
}

export interface NatsClusterOptions {
  /** Number of nodes; 3 by default. One node runs JetStream without a cluster block. */
  readonly size?: number;
  readonly name?: string;
  /**
   * Servers do not tell clients about each other (`cluster.no_advertise`), so a
   * client reaches only the URLs it was given; tests use it to cut one client off.
   */
  readonly noAdvertise?: boolean;
  /** Extra nats-server configuration for every node (a `tls { }` or `authorization { }` block). */
  readonly extraConfig?: string;
  /** Scheme of the client URLs (`tls` when the nodes require TLS). */
  readonly scheme?: "nats" | "tls";
  /** What the helper's own client connections need (credentials, TLS). */
  readonly clientOptions?: Omit<ConnectionOptions, "servers">;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Last resort if a test process dies without running its finally blocks. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
}

function config(node: NatsNode, routes: number[], cluster: string, single: boolean, noAdvertise: boolean, extra: string): string {
  const lines = [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.port}`,
    `jetstream { store_dir: "${node.storeDir}", max_memory_store: 64MB, max_file_store: 1GB }`,
  ];
  if (!single) {
    lines.push(
      `cluster {`,
      `  name: ${cluster}`,
      `  listen: 127.0.0.1:${node.clusterPort}`,
      `  routes: [${routes.map((p) => `nats-route://127.0.0.1:${p}`).join(", ")}]`,
      ...(noAdvertise ? [`  no_advertise: true`] : []),
      `}`,
    );
  }
  if (extra !== "") lines.push(extra);
  return lines.join("\n") + "\n";
}

function waitPort(port: number, deadline: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = tcpConnect(port, "127.0.0.1");
      s.once("connect", () => {
        s.destroy();
        resolve();
      });
      s.once("error", () => {
        s.destroy();
        if (Date.now() > deadline) reject(new Error(`nats-server did not listen on ${port}`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

export async function startNatsCluster(opts: NatsClusterOptions = {}): Promise<NatsCluster> {
  installExitHook();
  const size = opts.size ?? 3;
  const clusterName = opts.name ?? "consulate-test";
  const dir = await mkdtemp(join(tmpdir(), "consulate-nats-"));
  const nodes: NatsNode[] = [];
  for (let i = 0; i < size; i++) {
    const port = await freePort();
    const clusterPort = await freePort();
    const storeDir = join(dir, `n${i}`);
    await mkdir(storeDir, { recursive: true });
    nodes.push({ name: `n${i}`, port, clusterPort, url: `${opts.scheme ?? "nats"}://127.0.0.1:${port}`, storeDir, child: null, output: "" });
  }
  const confPath = (n: NatsNode) => join(dir, `${n.name}.conf`);
  for (const n of nodes) {
    const routes = nodes.filter((o) => o !== n).map((o) => o.clusterPort);
    await writeFile(confPath(n), config(n, routes, clusterName, size === 1, opts.noAdvertise === true, opts.extraConfig ?? ""));
  }

  const launch = async (n: NatsNode) => {
    const child = spawn(NATS_SERVER, ["-c", confPath(n)], { stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    n.child = child;
    child.stdout!.on("data", (d: Buffer) => (n.output += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (n.output += d.toString()));
    child.once("exit", () => {
      live.delete(child);
      if (n.child === child) n.child = null;
    });
    try {
      await waitPort(n.port, Date.now() + 10_000);
    } catch (err) {
      throw new Error(`${(err as Error).message}:\n${n.output}`);
    }
  };

  const killNode = async (n: NatsNode, signal: NodeJS.Signals = "SIGKILL") => {
    const c = n.child;
    if (c === null || c.exitCode !== null || c.signalCode !== null) {
      n.child = null;
      return;
    }
    const exited = new Promise<void>((r) => c.once("exit", () => r()));
    c.kill("SIGCONT");
    c.kill(signal);
    await exited;
    n.child = null;
  };

  let stopped = false;
  const cluster: NatsCluster = {
    nodes,
    urls: nodes.map((n) => n.url),
    dir,
    async kill(i) {
      await killNode(nodes[i]!);
    },
    async terminate(i) {
      await killNode(nodes[i]!, "SIGTERM");
    },
    async restart(i) {
      const n = nodes[i]!;
      if (n.child !== null) throw new Error(`nats node ${n.name} is still running`);
      await launch(n);
    },
    pause(i) {
      nodes[i]!.child?.kill("SIGSTOP");
    },
    resume(i) {
      nodes[i]!.child?.kill("SIGCONT");
    },
    async waitJetStream(i = 0, timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      const nc = await connect({ ...opts.clientOptions, servers: nodes[i]!.url, reconnect: false });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000, checkAPI: false });
        for (;;) {
          try {
            await jsm.getAccountInfo();
            return;
          } catch (err) {
            if (Date.now() > deadline) throw new Error(`JetStream did not become ready: ${(err as Error).message}`);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } finally {
        await nc.close();
      }
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await Promise.all(nodes.map((n) => killNode(n)));
      await rm(dir, { recursive: true, force: true });
    },
  };

  try {
    await Promise.all(nodes.map(launch));
    for (let i = 0; i < size; i++) await cluster.waitJetStream(i);
  } catch (err) {
    await cluster.stop();
    throw err;
  }
  return cluster;
}
