/**
 * The agent's gossip pools: the LAN pool every agent is in, and the WAN pool
 * of servers; their tags (Consul's: role, dc, id, port, ...), the keyring kept
 * in the data dir, `-join` / `-retry-join` / rejoin, and the servers a client
 * agent learns from the LAN pool.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig } from "./config.ts";
import type { GossipTimings } from "./config_gossip.ts";
import type { Logger } from "./logger.ts";
import { createPool, DEV_CONFIG, type GossipConfig, type GossipPool, LAN_CONFIG, type Transport, WAN_CONFIG } from "../gossip/mod.ts";
import type { ServerInfo, ServerSource } from "../rpc/router.ts";
import { CONSUL_VERSION, REVISION } from "../version.ts";
import { ownNatsUrls } from "../../federation/config.ts";
import { NATS_TAG } from "../../federation/links.ts";

export interface Membership {
  readonly lan: GossipPool;
  /** Servers only. */
  readonly wan: GossipPool | null;
  /** The alive servers of this datacenter, as LAN gossip tells. */
  readonly servers: ServerSource;
  /** Whether gossip is encrypted (a keyring is in use). */
  readonly encrypted: boolean;
  /** `-join` (throws when every address fails), then rejoin and `-retry-join` in the background. */
  startJoins(): Promise<void>;
  /** Leaves the pools first when `leave` (others mark us left), then closes the sockets. */
  stop(opts: { leave: boolean }): Promise<void>;
}

/** Consul's LAN member tags; servers add their RPC port and bootstrap settings. */
export function memberTags(cfg: AgentConfig, nodeId: string): Record<string, string> {
  const tags: Record<string, string> = {
    role: cfg.server ? "consul" : "node",
    dc: cfg.datacenter,
    segment: "",
    id: nodeId,
    vsn: "2",
    vsn_min: "2",
    vsn_max: "3",
    build: `${CONSUL_VERSION}:${REVISION}`,
  };
  if (cfg.server) {
    tags.port = String(cfg.ports.server);
    tags.raft_vsn = "3";
    tags.wan_join_port = String(cfg.ports.serfWan);
    if (cfg.bootstrap || cfg.dev) tags.bootstrap = "1";
    if (cfg.bootstrapExpect > 0) tags.expect = String(cfg.bootstrapExpect);
  }
  return tags;
}

function timings(base: GossipConfig, t: GossipTimings): GossipConfig {
  return {
    ...base,
    ...(t.gossipNodes !== undefined ? { gossipNodes: t.gossipNodes } : {}),
    ...(t.gossipIntervalMs !== undefined ? { gossipIntervalMs: t.gossipIntervalMs } : {}),
    ...(t.probeIntervalMs !== undefined ? { probeIntervalMs: t.probeIntervalMs } : {}),
    ...(t.probeTimeoutMs !== undefined ? { probeTimeoutMs: t.probeTimeoutMs } : {}),
    ...(t.suspicionMult !== undefined ? { suspicionMult: t.suspicionMult } : {}),
    ...(t.retransmitMult !== undefined ? { retransmitMult: t.retransmitMult } : {}),
  };
}

/** Atomically replaces a small file (write, then rename). */
async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, "utf8"));
  } catch {
    return null;
  }
}

/**
 * The keyring of one pool: the file in the data dir when there is one (as
 * Consul's serf/local.keyring, primary first), else `-encrypt`; none = plaintext.
 */
async function loadKeyring(file: string | null, encrypt: string, logger: Logger): Promise<string[]> {
  if (file) {
    const saved = await readJson(file);
    if (Array.isArray(saved) && saved.length > 0 && saved.every((k) => typeof k === "string")) {
      if (encrypt !== "" && saved[0] !== encrypt && !saved.includes(encrypt)) {
        logger.warn(`a keyring file exists at ${file}; the -encrypt key is ignored (use 'consulate keyring' to change keys)`);
      }
      return saved as string[];
    }
  }
  if (encrypt === "") return [];
  if (file) await writeAtomic(file, JSON.stringify([encrypt]));
  return [encrypt];
}

/** Our own rejoin snapshot: where the members were, and whether we left on purpose. */
interface RejoinSnapshot {
  readonly left: boolean;
  readonly members: Record<string, string>;
}

function parseSnapshot(v: unknown): RejoinSnapshot | null {
  if (typeof v !== "object" || v === null) return null;
  const s = v as Record<string, unknown>;
  if (typeof s.left !== "boolean" || typeof s.members !== "object" || s.members === null) return null;
  return { left: s.left, members: s.members as Record<string, string> };
}

/** A server's WAN tags: the LAN ones, plus the NATS URLs other datacenters reach this one's servers through. */
function wanTags(cfg: AgentConfig, tags: Record<string, string>): Record<string, string> {
  const urls = ownNatsUrls(cfg.federation, cfg.nats.urls);
  return urls.length > 0 ? { ...tags, [NATS_TAG]: urls.join(",") } : tags;
}

const hostPort = (addr: string, port: number): string => (addr.includes(":") ? `[${addr}]:${port}` : `${addr}:${port}`);

/** The alive servers of `dc` in the LAN pool, recomputed only when membership changes. */
export function lanServers(lan: GossipPool, dc: string): ServerSource {
  let cache: ServerInfo[] | null = null;
  lan.on((e) => {
    if (e.type !== "user" && e.type !== "query") cache = null;
  });
  return {
    servers() {
      cache ??= lan
        .members()
        .filter((m) => m.Status === "alive" && m.Tags.role === "consul" && (m.Tags.dc ?? dc) === dc && Number(m.Tags.port) > 0)
        .map((m) => ({ name: m.Name, host: m.Addr, port: Number(m.Tags.port) }));
      return cache;
    },
  };
}

/** `wanTransport` carries the WAN pool instead of UDP/TCP on the Serf WAN port (WAN gossip over NATS). */
export async function startMembership(cfg: AgentConfig, nodeId: string, advertise: string, logger: Logger, wanTransport?: Transport): Promise<Membership> {
  const serfDir = cfg.dev ? null : join(cfg.dataDir, "serf");
  if (serfDir) await mkdir(serfDir, { recursive: true });
  const log = (level: "debug" | "info" | "warn" | "error", msg: string) => logger[level](`gossip: ${msg}`);
  const persistKeys = (file: string | null) => (keys: string[], primary: string) => {
    if (!file) return;
    const ordered = [primary, ...keys.filter((k) => k !== primary)];
    writeAtomic(file, JSON.stringify(ordered)).catch((err: unknown) => logger.error(`failed to save the keyring: ${(err as Error).message}`));
  };
  const tags = memberTags(cfg, nodeId);
  const lanFile = serfDir ? join(serfDir, "local.keyring") : null;
  const lanKeys = await loadKeyring(lanFile, cfg.gossip.encrypt, logger);
  const lan = await createPool({
    name: cfg.nodeName,
    dc: cfg.datacenter,
    bindAddr: cfg.bindAddr,
    bindPort: cfg.ports.serfLan,
    advertiseAddr: advertise,
    tags,
    config: { ...timings(cfg.dev ? DEV_CONFIG : LAN_CONFIG, cfg.gossip.lan), disableCoordinates: cfg.disableCoordinates },
    ...(lanKeys.length > 0 ? { keyring: { keys: lanKeys } } : {}),
    onKeyringChange: persistKeys(lanFile),
    log,
  });
  let wan: GossipPool | null = null;
  if (cfg.server) {
    const wanFile = serfDir ? join(serfDir, "remote.keyring") : null;
    const wanKeys = await loadKeyring(wanFile, cfg.gossip.encrypt, logger);
    try {
      wan = await createPool({
        name: `${cfg.nodeName}.${cfg.datacenter}`,
        dc: cfg.datacenter,
        label: "wan",
        bindAddr: cfg.bindAddr,
        bindPort: cfg.ports.serfWan,
        advertiseAddr: cfg.advertiseWanAddr || advertise,
        tags: wanTags(cfg, tags),
        ...(wanTransport ? { transport: wanTransport } : {}),
        config: { ...timings(cfg.dev ? DEV_CONFIG : WAN_CONFIG, cfg.gossip.wan), disableCoordinates: cfg.disableCoordinates },
        ...(wanKeys.length > 0 ? { keyring: { keys: wanKeys } } : {}),
        onKeyringChange: persistKeys(wanFile),
        log,
      });
    } catch (err) {
      await lan.shutdown();
      throw err;
    }
  }

  // Remember where the members are, so a restart can find its way back.
  const snapshotFile = serfDir ? join(serfDir, "local.snapshot") : null;
  const previous = snapshotFile ? parseSnapshot(await readJson(snapshotFile)) : null;
  let snapshotTimer: ReturnType<typeof setTimeout> | null = null;
  const saveSnapshot = (left: boolean): Promise<void> => {
    if (!snapshotFile) return Promise.resolve();
    const members: Record<string, string> = {};
    for (const m of lan.members()) if (m.Name !== cfg.nodeName && m.Status === "alive") members[m.Name] = hostPort(m.Addr, m.Port);
    return writeAtomic(snapshotFile, JSON.stringify({ left, members })).catch((err: unknown) => logger.warn(`failed to save the member snapshot: ${(err as Error).message}`));
  };
  const offSnapshot = lan.on((e) => {
    if (e.type === "user" || e.type === "query" || snapshotTimer !== null) return;
    snapshotTimer = setTimeout(() => {
      snapshotTimer = null;
      void saveSnapshot(false);
    }, 1000);
  });

  let stopped = false;
  const retryTimers = new Set<ReturnType<typeof setTimeout>>();
  const retryJoin = (pool: GossipPool, addrs: readonly string[], label: string, attempt: number) => {
    if (stopped || addrs.length === 0) return;
    pool
      .join([...addrs])
      .then((n) => logger.info(`Join ${label} completed. Synced with ${n} initial agents`))
      .catch((err: unknown) => {
        if (stopped) return;
        if (cfg.gossip.retryMax > 0 && attempt >= cfg.gossip.retryMax) {
          logger.error(`max join ${label} retry exhausted: ${(err as Error).message}`);
          return;
        }
        logger.warn(`Join ${label} failed, will retry: retry_interval=${cfg.gossip.retryIntervalMs}ms error=${(err as Error).message}`);
        const t = setTimeout(() => {
          retryTimers.delete(t);
          retryJoin(pool, addrs, label, attempt + 1);
        }, cfg.gossip.retryIntervalMs);
        retryTimers.add(t);
      });
  };

  return {
    lan,
    wan,
    servers: lanServers(lan, cfg.datacenter),
    encrypted: lanKeys.length > 0,
    async startJoins() {
      if (cfg.gossip.startJoin.length > 0) {
        const n = await lan.join(cfg.gossip.startJoin);
        logger.info(`(LAN) joined: number_of_nodes=${n}`);
      }
      if (previous && (!previous.left || cfg.gossip.rejoinAfterLeave)) {
        const addrs = Object.values(previous.members);
        if (addrs.length > 0) {
          lan
            .join(addrs)
            .then((n) => logger.info(`rejoined ${n} of the ${addrs.length} members known before the restart`))
            .catch((err: unknown) => logger.warn(`rejoin failed: ${(err as Error).message}`));
        }
      } else if (previous?.left) {
        logger.info("agent: left the cluster before the restart; not rejoining (use -rejoin to do so)");
      }
      if (wan && cfg.gossip.startJoinWan.length > 0) {
        const n = await wan.join(cfg.gossip.startJoinWan);
        logger.info(`(WAN) joined: number_of_nodes=${n}`);
      }
      retryJoin(lan, cfg.gossip.retryJoin, "cluster", 1);
      if (wan) retryJoin(wan, cfg.gossip.retryJoinWan, "WAN", 1);
    },
    async stop({ leave }) {
      if (stopped) return;
      stopped = true;
      for (const t of retryTimers) clearTimeout(t);
      retryTimers.clear();
      if (snapshotTimer) clearTimeout(snapshotTimer);
      offSnapshot();
      if (leave) {
        await Promise.all([lan.leave().catch(() => {}), wan?.leave().catch(() => {})]);
        await saveSnapshot(true);
      } else {
        await saveSnapshot(false);
      }
      await Promise.all([lan.shutdown(), wan?.shutdown()]);
    },
  };
}
