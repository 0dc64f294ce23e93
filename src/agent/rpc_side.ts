/**
 * The server side of starting an agent: the server on its log, federation
 * with other datacenters, the RPC port, and membership reconciliation; or,
 * on a client agent, the router that forwards to the servers gossip tells
 * about. Whatever starts is pushed onto the caller's undo list, stopped in
 * reverse when a later step fails.
 */
import { join } from "node:path";
import { type Federation, FederationConfigError, type NatsGossipTransport, startFederation } from "../../federation/mod.ts";
import { inProcessRpc, listenRpc, type Rpc, type RpcListener, ServerRouter } from "../rpc/mod.ts";
import { MemberReconciler } from "../server/reconcile.ts";
import { Server, type ServerConfig } from "../server/mod.ts";
import type { TlsContext } from "../tls/mod.ts";
import { AutoEncrypt, watchConnectRoots } from "./auto_encrypt.ts";
import type { AgentConfig } from "./config.ts";
import { wanCoordinates } from "./coordinate_sync.ts";
import type { Logger } from "./logger.ts";
import type { Membership } from "./membership.ts";
import { openServerStorage, type ServerStorage } from "./server_log.ts";
import { describePeer, rpcServerTls } from "./tls_setup.ts";

/** What undoes a started step on failure, and what runs first when the agent stops. */
export interface StartSteps {
  readonly undo: (() => Promise<unknown>)[];
  readonly stopHooks: (() => void)[];
}

/** How this agent reaches the servers, and the server it runs, if any. */
export interface RpcSide {
  readonly server: Server | null;
  readonly rpc: Rpc;
  readonly router: ServerRouter | null;
  readonly reconciler: MemberReconciler | null;
  readonly rpcListener: RpcListener | null;
  readonly storage: ServerStorage | null;
  readonly federation: Federation | null;
  readonly autoEncrypt: AutoEncrypt | null;
}

/** The Server's settings from the agent's configuration. */
function serverConfig(cfg: AgentConfig, id: string, advertise: string, storage: ServerStorage, logger: Logger): ServerConfig {
  return {
    warn: (msg) => logger.warn(msg),
    datacenter: cfg.datacenter,
    nodeName: cfg.nodeName,
    nodeId: id,
    advertiseAddr: advertise,
    serverPort: cfg.ports.server,
    log: storage.log,
    ...(storage.cluster ? { cluster: storage.cluster } : {}),
    snapshotThreshold: cfg.snapshotThreshold,
    nodeMeta: { "consul-network-segment": "", ...cfg.nodeMeta },
    ...(cfg.defaultIntentionPolicy !== "" ? { defaultIntentionPolicy: cfg.defaultIntentionPolicy } : {}),
    coordinates: { periodMs: Math.max(1, Math.ceil(cfg.coordinates.updatePeriodMs)), batchSize: cfg.coordinates.updateBatchSize, maxBatches: cfg.coordinates.updateMaxBatches },
    connect: {
      enabled: cfg.connect.enabled,
      caConfig: cfg.connect.caConfig,
      // A secondary datacenter takes its roots from the primary instead of making its own.
      secondary: cfg.primaryDatacenter !== "" && cfg.primaryDatacenter !== cfg.datacenter,
      ...(cfg.connect.clusterId !== "" ? { clusterId: cfg.connect.clusterId } : {}) },
    acl: {
      enabled: cfg.acl.enabled,
      defaultPolicy: cfg.acl.defaultPolicy,
      downPolicy: cfg.acl.downPolicy,
      initialManagement: cfg.acl.tokens.initial_management ?? "",
      tokenTtlMs: cfg.acl.tokenTtlMs,
      bootstrapResetPath: cfg.dev ? "" : join(cfg.dataDir, "acl-bootstrap-reset"),
      primaryDatacenter: cfg.primaryDatacenter,
    },
  };
}

/** Starts the server of a server agent and everything that serves with it. */
export async function startServerSide(
  cfg: AgentConfig,
  logger: Logger,
  self: { readonly id: string; readonly advertise: string },
  membership: Membership,
  tls: TlsContext | null,
  wanNats: NatsGossipTransport | null,
  steps: StartSteps,
): Promise<RpcSide> {
  const { undo, stopHooks } = steps;
  const storage = await openServerStorage(cfg, self.id, self.advertise, logger);
  undo.push(() => storage.close());
  const srv = new Server(serverConfig(cfg, self.id, self.advertise, storage, logger));
  undo.push(() => srv.stop());
  await srv.start();
  logger.info(`server: restored state at index ${srv.lastIndex()}`);
  if (srv.ca.lastInitError) logger.error(`connect: Failed to initialize Connect CA (retrying): ${srv.ca.lastInitError.message}`);
  srv.pools = { lan: membership.lan, wan: membership.wan };
  srv.coordinates.sources = { lan: () => membership.lan.coordinate(), wan: () => wanCoordinates(membership.wan) };
  // Other datacenters: requests for them go over NATS (federation/); ours are answered on our NATS too.
  const fed = await startFederation({
    server: srv,
    primary: cfg.primaryDatacenter,
    federation: cfg.federation,
    nats: cfg.nats,
    wan: membership.wan,
    nodeName: cfg.nodeName,
    log: (level, msg) => logger[level](msg),
    claimFile: cfg.dev ? null : join(cfg.dataDir, "federation-primary.json"),
  });
  if (wanNats) {
    if (!fed) throw new FederationConfigError('federation.wan_gossip is "nats" but this datacenter names no NATS (federation.nats, -federation-nats or the nats block)');
    wanNats.attach(fed.ownNats, () => fed.links.connections());
    // The first WAN join travels on the links to the datacenters the config names: give them a moment to come up.
    await fed.links.whenUp(Object.keys(cfg.federation.datacenters), 3_000);
  }
  if (fed) {
    undo.push(() => fed.stop());
    logger.info(`federation: answering for ${cfg.datacenter} on NATS; links follow the WAN pool`);
  }
  const listener = await listenRpc({
    host: cfg.bindAddr,
    port: cfg.ports.server,
    server: srv,
    ...(fed ? { forward: fed.rpc, table: fed.table } : {}),
    maxConnsPerClient: cfg.limits.rpcMaxConnsPerClient,
    handshakeTimeoutMs: cfg.limits.rpcHandshakeTimeoutMs,
    onBadPeer: (remote, reason) => logger.warn(`rpc: dropped connection from ${remote}: ${reason}`),
    onTlsPeer: (remote, leaf) => logger.debug(`rpc: TLS connection from ${remote}: ${describePeer(leaf)}`),
    ...(tls ? { tls: rpcServerTls(tls) } : {}),
  });
  undo.push(() => listener.stop());
  if (tls && cfg.tls.autoEncrypt.allowTls) {
    srv.autoEncrypt = { manualCaRoots: () => [...tls.manualRpcCas], verifyServerHostname: () => tls.rpc.verifyServerHostname };
    // Client agents of auto_encrypt show Connect CA certificates: trust its roots, and follow rotations.
    let watching = true;
    void watchConnectRoots(inProcessRpc(srv), tls, cfg.datacenter, () => !watching, (err) => logger.debug(`auto_encrypt: roots watch: ${err.message}`));
    undo.push(async () => (watching = false));
    stopHooks.push(() => (watching = false));
  }
  logger.info(`rpc: listening on ${cfg.bindAddr}:${listener.port}`);
  const rec = new MemberReconciler(srv, membership.lan, { isLeader: () => srv.isLeader(), log: (level, msg) => logger[level](`server: ${msg}`) });
  rec.start();
  // A new leader reconciles every member at once, as Consul's establishLeadership does.
  const offLeadership = srv.leadership.onChange((leader) => {
    if (leader) rec.reconcileAll().catch(() => {});
  });
  undo.push(async () => offLeadership());
  undo.push(() => rec.stop());
  return {
    server: srv,
    rpc: fed ? fed.rpc : inProcessRpc(srv),
    router: null,
    reconciler: rec,
    rpcListener: listener,
    storage,
    federation: fed,
    autoEncrypt: null,
  };
}

/** A client agent's way to the servers: a router over the ones gossip tells about. */
export function startClientSide(cfg: AgentConfig, logger: Logger, membership: Membership, tls: TlsContext | null, steps: StartSteps): RpcSide {
  const { undo, stopHooks } = steps;
  const r = new ServerRouter({
    source: membership.servers,
    ...(tls ? { tls: () => tls.outgoingRpc() } : {}),
    onFailover: (name, err) => logger.warn(`rpc: server ${name} failed (${err.message}); trying another`),
  });
  undo.push(async () => r.close());
  // A connection reads the TLS settings when it dials: after a renewed certificate, new roots or a reload, dial again.
  const offTls = tls?.onChange(() => r.retire());
  if (offTls) undo.push(async () => void offTls());
  let autoEncrypt: AutoEncrypt | null = null;
  if (tls?.autoEncryptClient) {
    const ae = new AutoEncrypt({ ctx: tls, datacenter: cfg.datacenter, nodeName: cfg.nodeName, dnsSan: cfg.tls.autoEncrypt.dnsSan, ipSan: cfg.tls.autoEncrypt.ipSan, servers: membership.servers, rpc: r, logger });
    autoEncrypt = ae;
    undo.push(async () => ae.stop());
    stopHooks.push(() => ae.stop());
  }
  return { server: null, rpc: r, router: r, reconciler: null, rpcListener: null, storage: null, federation: null, autoEncrypt };
}
