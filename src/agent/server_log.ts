/**
 * Where a server agent's state machine gets its log: in memory (`-dev`), a
 * LocalLog in the data dir (a single server), or the datacenter's
 * JetStreamLog shared with the other servers (`-nats`), together with the
 * cluster membership (lease, registry) on the same NATS connection.
 */
import { join } from "node:path";
import type { AgentConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import { connectNats, ServerCluster } from "../cluster/mod.ts";
import { JetStreamLog, LocalLog, MemoryLog, type Log } from "../log/mod.ts";
import type { ClusterRole } from "../server/cluster_role.ts";
import { CONSUL_VERSION } from "../version.ts";

export interface ServerStorage {
  readonly log: Log;
  readonly cluster?: ClusterRole;
  /** What the start-up banner shows. */
  readonly description: string;
  /** Releases what the log does not (the NATS connection); call after the server stopped. */
  close(): Promise<void>;
}

export async function openServerStorage(cfg: AgentConfig, nodeId: string, advertise: string, logger: Logger): Promise<ServerStorage> {
  if (cfg.dev) return { log: new MemoryLog(), description: "in memory (-dev)", close: async () => {} };
  if (cfg.nats.urls.length === 0) {
    const dir = join(cfg.dataDir, "log");
    return { log: new LocalLog({ dir, onRepair: (message) => logger.warn(`log: ${message}`) }), description: dir, close: async () => {} };
  }
  const nc = await connectNats(cfg.nats, `consulate ${cfg.nodeName}`);
  try {
    const log = new JetStreamLog({ nc, datacenter: cfg.datacenter, replicas: cfg.nats.replicas, trailingEntries: cfg.trailingLogs });
    const cluster = await ServerCluster.open({
      nc,
      self: { ID: nodeId, Node: cfg.nodeName, Address: `${advertise}:${cfg.ports.server}`, Datacenter: cfg.datacenter, Version: CONSUL_VERSION },
      replicas: cfg.nats.replicas,
      leaseTtlMs: cfg.nats.leaseTtlMs,
      bootstrapExpect: cfg.bootstrap ? 1 : Math.max(1, cfg.bootstrapExpect),
      logContact: () => log.lastContact(),
    });
    logger.info(`server: log in JetStream stream ${log.names.stream} via ${nc.getServer()}`);
    return {
      log,
      cluster,
      description: `JetStream stream ${log.names.stream} (NATS ${cfg.nats.urls.join(", ")})`,
      close: () => nc.close(),
    };
  } catch (err) {
    await nc.close();
    if (/replicas > 1 not supported in non-clustered mode/.test(String(err))) {
      throw new Error(`${(err as Error).message}: this NATS server runs JetStream without a cluster; set nats.replicas to 1 in the config file`, { cause: err });
    }
    throw err;
  }
}
