/**
 * Starting and stopping a whole agent: its gossip pools; on a server, the
 * server on its log with the RPC port and membership reconciliation; on a
 * client, the router that forwards to the servers gossip tells about; then
 * the local agent, the HTTP API and DNS.
 */
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NatsGossipTransport } from "../../federation/mod.ts";
import { dnsReadOptions, resolveDnsConfig, rpcQueryRunner, type RunningDns, startAgentDns } from "../dns/mod.ts";
import { limitPerClient, TOO_MANY_CONNECTIONS } from "../http/client_limit.ts";
import { createApp, directApi, RequestMetrics } from "../http/mod.ts";
import type { RpcListener } from "../rpc/mod.ts";
import { pid } from "../runtime/process.ts";
import type { HttpListener } from "../runtime/serve.ts";
import type { HttpsListener } from "../runtime/serve_tls.ts";
import { AclReplicator, followLeadership } from "../server/acl_replication.ts";
import { type Server, systemClock } from "../server/mod.ts";
import type { TlsContext } from "../tls/mod.ts";
import { AgentAcl, dnsAuthorizer, remoteResolver, serverResolver, withToken } from "./acl.ts";
import { tokensFilePath } from "./acl_tokens_file.ts";
import { Agent } from "./agent.ts";
import { agentApiContext } from "./api_context.ts";
import { rpcCatalog } from "./catalog_rpc.ts";
import type { AgentConfig } from "./config.ts";
import { CoordinateSync } from "./coordinate_sync.ts";
import { LeafCerts } from "./leaf_certs.ts";
import type { Logger } from "./logger.ts";
import { type Membership, startMembership } from "./membership.ts";
import { REMOTE_EXEC_EVENT, RemoteExec } from "./remote_exec.ts";
import { RequestCache } from "./request_cache.ts";
import { startClientSide, startServerSide } from "./rpc_side.ts";
import { reloadTls, startHttpListeners, startTls } from "./tls_setup.ts";
import { decodeUserEvent, SERF_NAME_PREFIX } from "./user_event.ts";

export interface RunningAgent {
  /** The server in this process; null on a client agent. */
  readonly server: Server | null;
  readonly agent: Agent;
  /** The plain HTTP listener, or the HTTPS one when HTTP is off (`ports.http = -1`). */
  readonly http: HttpListener;
  /** The HTTPS listener (`ports.https`), or null. */
  readonly https: HttpsListener | null;
  /** The agent's TLS state, or null when no TLS is configured. */
  readonly tls: TlsContext | null;
  /** Null when `ports.dns` is negative (DNS off). */
  readonly dns: RunningDns | null;
  readonly membership: Membership;
  /** The server RPC port's listener (servers only). */
  readonly rpcListener: RpcListener | null;
  readonly nodeId: string;
  readonly advertiseAddr: string;
  /** Applies a re-read configuration (SIGHUP, `consulate reload`): TLS files, then services and checks. */
  reload(next: AgentConfig): Promise<void>;
  /**
   * Stops everything. With `leave`, the agent first leaves the gossip pools,
   * so the others mark it left and the servers deregister it.
   */
  stop(opts?: { leave?: boolean }): Promise<void>;
}

/** The node ID is kept in the data dir so a restarted agent keeps its identity; lower-cased, as Consul's setupNodeID does. */
async function nodeId(cfg: AgentConfig): Promise<string> {
  if (cfg.nodeId !== "") return cfg.nodeId.toLowerCase();
  if (cfg.dev) return crypto.randomUUID();
  const file = join(cfg.dataDir, "node-id");
  try {
    return (await readFile(file, "utf8")).trim().toLowerCase();
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
  // What has started, stopped in reverse when a later step fails.
  const undo: (() => Promise<unknown>)[] = [];
  const unwind = async () => {
    for (const u of undo.splice(0).reverse()) await u().catch(() => {});
  };
  try {
    return await start(cfg, logger, hooks, id, advertise, undo);
  } catch (err) {
    await unwind();
    throw err;
  }
}

async function start(
  cfg: AgentConfig,
  logger: Logger,
  hooks: StartHooks,
  id: string,
  advertise: string,
  undo: (() => Promise<unknown>)[],
): Promise<RunningAgent> {
  const tls = await startTls(cfg, logger);
  // WAN gossip over NATS (federation.wan_gossip): the transport starts carrying once federation has its NATS connections.
  const wanNats = cfg.server && cfg.federation.wanGossip === "nats" ? new NatsGossipTransport({ addr: cfg.advertiseWanAddr || advertise, port: cfg.ports.serfWan }) : null;
  const membership = await startMembership(cfg, id, advertise, logger, wanNats ?? undefined);
  undo.push(() => membership.stop({ leave: false }));

  /** Run first when the agent stops. */
  const stopHooks: (() => void)[] = [];
  const side = cfg.server
    ? await startServerSide(cfg, logger, { id, advertise }, membership, tls, wanNats, { undo, stopHooks })
    : startClientSide(cfg, logger, membership, tls, { undo, stopHooks });
  const { server, rpc, router, reconciler, rpcListener, storage, federation, autoEncrypt } = side;

  const clock = server?.clock ?? systemClock;
  const acl = new AgentAcl(
    cfg.acl,
    server ? serverResolver(server) : remoteResolver(rpc, cfg.datacenter, cfg.acl),
    cfg.nodeName,
    cfg.dev || cfg.dataDir === "" ? null : tokensFilePath(cfg.dataDir),
  );
  try {
    for (const name of await acl.loadPersisted()) logger.warn(`acl: "${name}" token present in both the configuration and persisted token store, using the persisted token`);
  } catch (err) {
    logger.warn(`acl: unable to load persisted tokens: ${(err as Error).message}`);
  }
  if (server && federation && cfg.acl.enabled) {
    // A secondary's leader replicates ACLs from the primary (the federation's claim, which a promotion moves).
    const fed = federation;
    server.acl.isPrimary = () => fed.primary === cfg.datacenter;
    const replicator = new AclReplicator({
      server,
      rpc: fed.rpc,
      primary: () => fed.primary,
      token: () => acl.token("replication"),
      tokens: cfg.acl.enableTokenReplication === true,
      log: (level, msg) => logger[level](msg),
    });
    const stopReplication = followLeadership(server, replicator);
    undo.push(stopReplication);
    stopHooks.push(() => void stopReplication());
  }
  // The agent's own RPC acts with its agent token; HTTP requests carry theirs.
  const agentRpc = cfg.acl.enabled ? withToken(rpc, () => acl.agentToken) : rpc;
  const remoteExec = new RemoteExec({ nodeName: cfg.nodeName, datacenter: cfg.datacenter, disabled: cfg.disableRemoteExec, rpc: agentRpc, logger });
  undo.push(async () => remoteExec.stop());
  stopHooks.push(() => remoteExec.stop());
  const agent = new Agent({
    internalEvents: { [REMOTE_EXEC_EVENT]: (e) => remoteExec.handle(e) },
    identity: {
      node: cfg.nodeName,
      id,
      address: advertise,
      datacenter: cfg.datacenter,
      taggedAddresses: { lan: advertise, lan_ipv4: advertise, wan: advertise, wan_ipv4: advertise },
      meta: { "consul-network-segment": "", ...cfg.nodeMeta },
    },
    rpc: rpcCatalog(agentRpc, cfg.datacenter),
    clock,
    random: Math.random,
    logger,
    stateFile: cfg.dev ? null : join(cfg.dataDir, "agent", "state.json"),
    enableScriptChecks: cfg.enableScriptChecks,
    enableLocalScriptChecks: cfg.enableLocalScriptChecks,
    sidecarPorts: { min: cfg.ports.sidecarMinPort, max: cfg.ports.sidecarMaxPort },
    clusterSize: () => membership.lan.numAliveMembers(),
    ...(cfg.aeIntervalMs !== null ? { aeIntervalMs: cfg.aeIntervalMs } : {}),
    ...(cfg.checkReapIntervalMs !== null ? { checkReapIntervalMs: cfg.checkReapIntervalMs } : {}),
    ...(cfg.checkUpdateIntervalMs !== null ? { checkUpdateIntervalMs: cfg.checkUpdateIntervalMs } : {}),
  });
  // User events reach every agent through the LAN pool (this one's own included).
  const offEvents = membership.lan.on((e) => {
    // A server coming up is the moment to sync (Consul triggers a full sync then), not the next retry.
    if (!cfg.server && e.type === "member-join" && e.member.Tags.role === "consul") agent.ae.syncFull();
    if (e.type !== "user" || !e.name.startsWith(SERF_NAME_PREFIX)) return;
    const event = decodeUserEvent(e.payload, e.ltime);
    if (event) agent.events.receive(event);
    else logger.warn(`agent: dropped a malformed user event "${e.name}"`);
  });
  undo.push(async () => offEvents());
  await agent.start({ services: cfg.services, checks: cfg.checks });
  undo.push(() => agent.stop());

  // The CA roots and leaf certificate caches behind /v1/agent/connect/ca/*.
  const leafCerts = new LeafCerts({ rpc: agentRpc, datacenter: cfg.datacenter, clock, random: Math.random, logger });
  undo.push(async () => leafCerts.stop());
  // The cache behind `?cached` reads; HTTP requests carry their own tokens.
  const cache = new RequestCache({ clock, random: Math.random, logger });
  undo.push(async () => cache.stop());

  let httpPort = cfg.ports.http;
  // One record of request timings for both lanes (the router's and the direct one's).
  const metrics = new RequestMetrics();
  const api = agentApiContext(cfg, logger, { id, advertise, httpPort: () => httpPort }, { side, membership, acl, agent, leafCerts, cache, metrics }, {
    ...(hooks.onLeave ? { leave: hooks.onLeave } : {}),
    reload: async () => {
      const next = hooks.reloadConfig ? await hooks.reloadConfig() : cfg;
      await reloadAll(next);
    },
  });
  const app = createApp(api);
  const reloadAll = async (next: AgentConfig) => {
    await reloadTls(tls, next, listeners, logger);
    await agent.reload({ services: next.services, checks: next.checks });
  };
  const readTimeoutMs = cfg.limits.httpReadTimeoutMs;
  const perClient = limitPerClient(cfg.limits.httpMaxConnsPerClient);
  const listeners = await startHttpListeners(cfg, tls, {
    fetch: perClient.fetch((req, remoteAddress) => app.fetch(req, { remoteAddress, readTimeoutMs })),
    direct: perClient.direct(directApi(api, metrics, { readTimeoutMs })),
    maxConnsPerClient: cfg.limits.httpMaxConnsPerClient,
    tooManyConnections: TOO_MANY_CONNECTIONS,
    headerTimeoutMs: readTimeoutMs,
  }, logger);
  undo.push(() => listeners.stop());
  const http = (listeners.http ?? listeners.https)!;
  httpPort = http.port;
  const dnsConfig = resolveDnsConfig({
    domain: cfg.domain,
    altDomain: cfg.altDomain,
    datacenter: cfg.datacenter,
    nodeName: cfg.nodeName,
    recursors: cfg.recursors,
    translateWanAddrs: cfg.translateWanAddrs,
    options: cfg.dns,
  });
  const dns = await startAgentDns({
    host: cfg.clientAddr,
    port: cfg.ports.dns,
    config: dnsConfig,
    // A server reads its own state, through its read gate in a cluster (allow_stale / max_stale).
    ...(server ? { queries: rpcQueryRunner(rpc, (dc) => ({ ...dnsReadOptions(dnsConfig), datacenter: dc }), cfg.datacenter) } : {}),
    ...(federation ? { remote: { rpc, isRemote: (dc: string) => dc !== cfg.datacenter && federation!.links.get(dc) !== null } } : {}),
    ...(server ? { state: server.state, readGate: server.readGate.bind(server) } : { rpc: cfg.acl.enabled ? withToken(rpc, () => acl.token("dns") || acl.defaultToken) : rpc }),
    ...(server && cfg.acl.enabled ? { authorizer: dnsAuthorizer(server, acl) } : {}),
    serverPort: cfg.ports.server,
  });
  if (dns) {
    undo.push(() => dns.stop());
    logger.info(`dns: listening on ${cfg.clientAddr}:${dns.port} (udp, tcp)`);
  }
  const coordinateSync = new CoordinateSync({
    rpc: agentRpc,
    node: cfg.nodeName,
    datacenter: cfg.datacenter,
    source: () => (cfg.disableCoordinates ? null : { coordinate: () => membership.lan.coordinate(), memberCount: () => membership.lan.numAliveMembers() }),
    timers: clock,
    random: Math.random,
    rateTarget: cfg.coordinates.rateTarget,
    minIntervalMs: cfg.coordinates.intervalMinMs,
    onError: (err) => logger.warn(`agent: Coordinate update error: ${err.message}`),
  });
  coordinateSync.start();
  undo.push(async () => coordinateSync.stop());
  await membership.startJoins();
  autoEncrypt?.start();
  if (cfg.pidFile !== "") await writeFile(cfg.pidFile, `${pid()}`);

  let stopping: Promise<void> | null = null;
  return {
    server,
    agent,
    http,
    https: listeners.https,
    tls,
    dns,
    membership,
    rpcListener,
    nodeId: id,
    advertiseAddr: advertise,
    reload: reloadAll,
    stop(opts = {}) {
      stopping ??= (async () => {
        for (const h of stopHooks) h();
        coordinateSync.stop();
        await dns?.stop();
        leafCerts.stop();
        cache.stop();
        // Checks and anti-entropy stop before the leave, so nothing re-registers this node.
        await agent.stop();
        offEvents();
        await membership.stop({ leave: opts.leave ?? false });
        await reconciler?.stop();
        await rpcListener?.stop();
        await federation?.stop();
        router?.close();
        await server?.stop();
        await storage?.close();
        logger.broker?.close();
        await listeners.stop();
        if (cfg.pidFile !== "") await rm(cfg.pidFile, { force: true });
      })();
      return stopping;
    },
  };
}
