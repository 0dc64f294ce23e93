/**
 * Starting and stopping a whole agent: the server on its log, and the HTTP API.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Agent } from "./agent.ts";
import { rpcCatalog } from "./catalog_rpc.ts";
import type { AgentConfig } from "./config.ts";
import type { Logger } from "./logger.ts";
import { resolveDnsConfig, type RunningDns, startAgentDns } from "../dns/mod.ts";
import { allowAll, createApp } from "../http/mod.ts";
import { LocalLog, MemoryLog, type Log } from "../log/mod.ts";
import { memoryUsage, pid } from "../runtime/process.ts";
import { type HttpListener, serveHttp } from "../runtime/serve.ts";
import { inProcessRpc } from "../rpc/mod.ts";
import { Server } from "../server/mod.ts";
import { VERSION } from "../version.ts";

export interface RunningAgent {
  readonly server: Server;
  readonly agent: Agent;
  readonly http: HttpListener;
  /** Null when `ports.dns` is negative (DNS off). */
  readonly dns: RunningDns | null;
  stop(): Promise<void>;
}

/** The node ID is kept in the data dir so a restarted agent keeps its identity. */
async function nodeId(cfg: AgentConfig): Promise<string> {
  if (cfg.nodeId !== "") return cfg.nodeId;
  if (cfg.dev) return crypto.randomUUID();
  const file = join(cfg.dataDir, "node-id");
  try {
    return (await readFile(file, "utf8")).trim();
  } catch {
    const id = crypto.randomUUID();
    await writeFile(file, id);
    return id;
  }
}

/** What the process running the agent does on `/v1/agent/leave` and `/v1/agent/reload`. */
export interface StartHooks {
  /** Begins a graceful shutdown of the process. */
  onLeave?(): void;
  /** Re-reads the configuration (files and flags); its services and checks replace those from config. */
  reloadConfig?(): Promise<AgentConfig>;
}

export async function startAgent(cfg: AgentConfig, logger: Logger, hooks: StartHooks = {}): Promise<RunningAgent> {
  if (!cfg.dev) await mkdir(cfg.dataDir, { recursive: true });
  const id = await nodeId(cfg);
  const advertise = cfg.advertiseAddr || (cfg.bindAddr === "0.0.0.0" ? "127.0.0.1" : cfg.bindAddr);
  const log: Log = cfg.dev ? new MemoryLog() : new LocalLog({ dir: join(cfg.dataDir, "log") });
  const server = new Server({
    datacenter: cfg.datacenter,
    nodeName: cfg.nodeName,
    nodeId: id,
    advertiseAddr: advertise,
    serverPort: cfg.ports.server,
    log,
    snapshotThreshold: cfg.snapshotThreshold,
    nodeMeta: { "consul-network-segment": "", ...cfg.nodeMeta },
    ...(cfg.defaultIntentionPolicy !== "" ? { defaultIntentionPolicy: cfg.defaultIntentionPolicy } : {}),
  });
  await server.start();
  logger.info(`server: restored state at index ${server.lastIndex()}`);

  const rpc = inProcessRpc(server);
  const agent = new Agent({
    identity: {
      node: cfg.nodeName,
      id,
      address: advertise,
      datacenter: cfg.datacenter,
      taggedAddresses: { lan: advertise, lan_ipv4: advertise, wan: advertise, wan_ipv4: advertise },
      meta: { "consul-network-segment": "", ...cfg.nodeMeta },
    },
    rpc: rpcCatalog(rpc, cfg.datacenter),
    clock: server.clock,
    random: Math.random,
    logger,
    stateFile: cfg.dev ? null : join(cfg.dataDir, "agent", "state.json"),
    enableScriptChecks: cfg.enableScriptChecks,
    enableLocalScriptChecks: cfg.enableLocalScriptChecks,
    sidecarPorts: { min: cfg.ports.sidecarMinPort, max: cfg.ports.sidecarMaxPort },
    ...(cfg.aeIntervalMs !== null ? { aeIntervalMs: cfg.aeIntervalMs } : {}),
    ...(cfg.checkReapIntervalMs !== null ? { checkReapIntervalMs: cfg.checkReapIntervalMs } : {}),
    ...(cfg.checkUpdateIntervalMs !== null ? { checkUpdateIntervalMs: cfg.checkUpdateIntervalMs } : {}),
  });
  try {
    await agent.start({ services: cfg.services, checks: cfg.checks });
  } catch (err) {
    await agent.stop();
    await server.stop();
    throw err;
  }

  let httpPort = cfg.ports.http;
  const app = createApp({
    server,
    rpc,
    agent: {
      nodeName: cfg.nodeName,
      nodeId: id,
      datacenter: cfg.datacenter,
      primaryDatacenter: cfg.primaryDatacenter || cfg.datacenter,
      advertiseAddr: advertise,
      bindAddr: cfg.bindAddr,
      serverPort: cfg.ports.server,
      serfLanPort: cfg.ports.serfLan,
      httpPort: () => httpPort,
      server: cfg.server,
      version: VERSION,
      revision: "",
      startedAt: Date.now(),
      ...(cfg.defaultIntentionPolicy !== "" ? { defaultIntentionPolicy: cfg.defaultIntentionPolicy } : {}),
    },
    limits: { ...cfg.limits, txnMaxOps: 128 },
    authorizer: allowAll,
    localAgent: agent,
    hooks: {
      ...(hooks.onLeave ? { leave: hooks.onLeave } : {}),
      reload: async () => {
        const next = hooks.reloadConfig ? await hooks.reloadConfig() : cfg;
        await agent.reload({ services: next.services, checks: next.checks });
      },
      memory: memoryUsage,
    },
  });
  let http: HttpListener;
  try {
    http = await serveHttp({ hostname: cfg.clientAddr, port: cfg.ports.http, fetch: (req) => app.fetch(req) });
  } catch (err) {
    await agent.stop();
    await server.stop();
    throw err;
  }
  httpPort = http.port;
  logger.info(`http: listening on ${cfg.clientAddr}:${http.port}`);
  let dns: RunningDns | null;
  try {
    const dnsConfig = resolveDnsConfig({
      domain: cfg.domain,
      altDomain: cfg.altDomain,
      datacenter: cfg.datacenter,
      nodeName: cfg.nodeName,
      recursors: cfg.recursors,
      translateWanAddrs: cfg.translateWanAddrs,
      options: cfg.dns,
    });
    dns = await startAgentDns({ host: cfg.clientAddr, port: cfg.ports.dns, config: dnsConfig, state: server.state, serverPort: cfg.ports.server });
  } catch (err) {
    await agent.stop();
    await server.stop();
    await http.stop();
    throw err;
  }
  if (dns) logger.info(`dns: listening on ${cfg.clientAddr}:${dns.port} (udp, tcp)`);
  if (cfg.pidFile !== "") await writeFile(cfg.pidFile, `${pid()}`);

  let stopping: Promise<void> | null = null;
  return {
    server,
    agent,
    http,
    dns,
    stop() {
      stopping ??= (async () => {
        await dns?.stop();
        await agent.stop();
        await server.stop();
        await http.stop();
        if (cfg.pidFile !== "") await rm(cfg.pidFile, { force: true });
      })();
      return stopping;
    },
  };
}
