/**
 * What the HTTP API of a running agent sees: its servers (or router), gossip
 * pools, local agent, caches and settings, gathered into one ApiContext.
 */
import { allowAll, type AgentHooks, type ApiContext, type RequestMetrics } from "../http/mod.ts";
import { memoryUsage } from "../runtime/process.ts";
import { CONSUL_VERSION, REVISION } from "../version.ts";
import type { AgentAcl } from "./acl.ts";
import type { Agent } from "./agent.ts";
import type { AgentConfig } from "./config.ts";
import { debugConfig } from "./debug_config.ts";
import type { LeafCerts } from "./leaf_certs.ts";
import type { Logger } from "./logger.ts";
import type { Membership } from "./membership.ts";
import type { RequestCache } from "./request_cache.ts";
import type { RpcSide } from "./rpc_side.ts";

/** The started parts of an agent the API serves from. */
export interface ApiParts {
  readonly side: RpcSide;
  readonly membership: Membership;
  readonly acl: AgentAcl;
  readonly agent: Agent;
  readonly leafCerts: LeafCerts;
  readonly cache: RequestCache;
  readonly metrics: RequestMetrics;
}

/** The agent's identity; `httpPort` is known once the listener is up. */
export interface ApiSelf {
  readonly id: string;
  readonly advertise: string;
  readonly httpPort: () => number;
}

export function agentApiContext(cfg: AgentConfig, logger: Logger, self: ApiSelf, parts: ApiParts, hooks: Pick<AgentHooks, "leave" | "reload">): ApiContext {
  const { side, membership, acl, agent, leafCerts, cache, metrics } = parts;
  const { server, router, federation, rpc } = side;
  return {
    ...(server ? { server } : {}),
    rpc,
    ...(router ? { knownServers: () => router.knownServers() } : {}),
    lan: membership.lan,
    ...(membership.wan ? { wan: membership.wan } : {}),
    ...(federation ? { federation } : {}),
    agent: {
      nodeName: cfg.nodeName,
      nodeId: self.id,
      datacenter: cfg.datacenter,
      primaryDatacenter: cfg.primaryDatacenter || cfg.datacenter,
      advertiseAddr: self.advertise,
      bindAddr: cfg.bindAddr,
      serverPort: cfg.ports.server,
      serfLanPort: cfg.ports.serfLan,
      httpPort: self.httpPort,
      server: cfg.server,
      version: CONSUL_VERSION,
      revision: REVISION,
      startedAt: Date.now(),
      gossipEncrypted: membership.encrypted,
      ...(cfg.defaultIntentionPolicy !== "" ? { defaultIntentionPolicy: cfg.defaultIntentionPolicy } : {}),
      disableCoordinates: cfg.disableCoordinates,
      devMode: cfg.dev,
      translateWanAddrs: cfg.translateWanAddrs,
      dataDir: cfg.dataDir,
    },
    limits: { ...cfg.limits, txnMaxOps: 128 },
    debugConfig: () => debugConfig(cfg, { nodeId: self.id, advertiseAddr: self.advertise, httpPort: self.httpPort() }),
    authorizer: allowAll,
    acl,
    localAgent: agent,
    ...(logger.broker ? { logs: logger.broker } : {}),
    leafCerts,
    cache,
    httpUseCache: cfg.httpUseCache,
    ui: {
      enabled: cfg.ui.enabled,
      contentPath: cfg.ui.contentPath,
      dir: cfg.ui.dir,
      metricsProxy: cfg.ui.metricsProxy,
      dnsDomains: [cfg.domain, cfg.altDomain].filter((d) => d !== ""),
    },
    hooks: { ...hooks, memory: memoryUsage },
    metrics,
  };
}
