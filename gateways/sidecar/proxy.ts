/**
 * The sidecar proxy: a public mutual-TLS listener in front of the local app
 * and one local listener per upstream, all configured from the control plane
 * and re-configured as it changes (the proxy registration, leaf certificate,
 * roots, intentions and service defaults are each a blocking query). When the
 * agent is unreachable the proxy keeps serving with its last good config.
 */
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import type { Client } from "../../src/api/mod.ts";
import { connectTcp, nativeTcp } from "../../src/runtime/tcp.ts";
import { MeshIdentity } from "../mesh/identity.ts";
import { type InboundContext, InboundListener } from "../mesh/inbound.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { InboundPolicy } from "../mesh/policy.ts";
import { serveAdmitted } from "../mesh/serve.ts";
import { type AgentServiceWire, fetchAgentService } from "../mesh/sources.ts";
import { parseUpstreamSettings } from "../l7/upstream_config.ts";
import { ChainUpstream } from "./chain_upstream.ts";
import { Watch } from "../mesh/watch.ts";
import { configFromRegistration, type PublicListenerConfig, type SidecarConfig, type UpstreamConfig } from "./config.ts";

export type SidecarSource = { readonly kind: "registration"; readonly proxyId: string; readonly agentAddress: string } | { readonly kind: "static"; readonly config: SidecarConfig };

export interface SidecarOptions {
  readonly client: Client;
  readonly source: SidecarSource;
  readonly logger?: MeshLogger;
}

interface RunningUpstream {
  readonly key: string;
  readonly upstream: ChainUpstream;
  readonly config: UpstreamConfig;
}

const upstreamKey = (u: UpstreamConfig) => JSON.stringify([u.destinationName, u.destinationNamespace, u.datacenter, u.bindAddress, u.bindPort, u.meshGatewayMode ?? "", u.config ?? null]);
const publicKey = (p: PublicListenerConfig | null) => JSON.stringify(p);

export class SidecarProxy {
  private readonly o: SidecarOptions;
  private readonly log: MeshLogger;
  private registration: Watch<AgentServiceWire> | null = null;
  private identity: MeshIdentity | null = null;
  private policy: InboundPolicy | null = null;
  private inbound: InboundListener | null = null;
  private inboundKey = "null";
  private readonly upstreams = new Map<string, RunningUpstream>();
  private config: SidecarConfig | null = null;
  private applying: Promise<void> = Promise.resolve();
  private stopped = false;
  private readyResolve: () => void = () => {};
  private unsubscribeDefaults: (() => void) | null = null;
  private readonly readyPromise = new Promise<void>((r) => (this.readyResolve = r));

  constructor(o: SidecarOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
  }

  /** Starts watching; resolves once the first config is applied (listeners bound). */
  async start(): Promise<void> {
    const src = this.o.source;
    if (src.kind === "static") {
      await this.apply(src.config);
    } else {
      this.registration = new Watch({
        name: "proxy registration",
        fetch: (p) => fetchAgentService(this.o.client, src.proxyId, p),
        onUpdate: (svc) => {
          let cfg: SidecarConfig;
          try {
            cfg = configFromRegistration(svc, src.agentAddress);
          } catch (err) {
            this.log.error(`proxy registration "${src.proxyId}" unusable (keeping the last good config): ${errorText(err)}`);
            return;
          }
          this.applying = this.applying.then(() => this.apply(cfg)).catch((err) => this.log.error(`applying config failed: ${errorText(err)}`));
        },
        onError: (err, n) => {
          if (n === 1 || n % 20 === 0) this.log.warn(`proxy registration watch failed (keeping the last good config): ${errorText(err)}`);
        },
      }).start();
      await this.readyPromise;
    }
  }

  /** Resolves once listeners are bound for the first config. */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** Resolves once the leaf, roots and intentions are loaded, so connections are served rather than refused. */
  async whenServing(): Promise<void> {
    await this.readyPromise;
    if (this.identity && this.policy) await Promise.all([this.identity.ready(), this.policy.ready(), ...[...this.upstreams.values()].map((u) => u.upstream.ready())]);
  }

  get currentConfig(): SidecarConfig | null {
    return this.config;
  }

  get publicPort(): number {
    return this.inbound?.port ?? 0;
  }

  /** Bound ports of the upstream listeners, by destination name. */
  get upstreamPorts(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const u of this.upstreams.values()) out[u.upstream.service] = u.upstream.port;
    return out;
  }

  /** Serial of the leaf certificate in use (undefined before one arrived). */
  get leafSerial(): string | undefined {
    return this.identity?.leaf?.SerialNumber;
  }

  /**
   * The effective configuration (the equivalent of Envoy's /config_dump):
   * the public listener and, per upstream, its listener, routes and clusters
   * with their instances, circuit breakers and ejection state.
   */
  configDump(): Record<string, unknown> {
    const pub = this.config?.public ?? null;
    return {
      service: this.config?.service ?? null,
      listeners: {
        public: pub ? { address: `${pub.bindAddress}:${this.publicPort}`, localApp: `${pub.localAddress}:${pub.localPort}` } : null,
        upstreams: [...this.upstreams.values()].map((u) => ({ service: u.upstream.service, address: `127.0.0.1:${u.upstream.port}` })),
      },
      upstreams: [...this.upstreams.values()].map((u) => u.upstream.adminView()),
    };
  }

  /** Every upstream cluster with its instances and health (the equivalent of Envoy's /clusters). */
  clusters(): Record<string, unknown>[] {
    return [...this.upstreams.values()].flatMap((u) => (u.upstream.adminView().clusters as Record<string, unknown>[]).map((c) => ({ upstream: u.upstream.service, ...c })));
  }

  /** Prometheus text: per-cluster requests in flight and overflows. */
  prometheus(): string {
    const lines = ["# TYPE consulate_sidecar_upstream_rq_active gauge", "# TYPE consulate_sidecar_upstream_rq_overflow counter"];
    for (const c of this.clusters()) {
      const b = c.circuitBreakers as { activeRequests: number; overflows: number };
      const label = `upstream="${String(c.upstream)}",cluster="${String(c.name)}"`;
      lines.push(`consulate_sidecar_upstream_rq_active{${label}} ${b.activeRequests}`, `consulate_sidecar_upstream_rq_overflow{${label}} ${b.overflows}`);
    }
    return `${lines.join("\n")}\n`;
  }

  get inboundListener(): InboundListener | null {
    return this.inbound;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.readyResolve();
    await this.registration?.stop();
    await this.applying;
    this.unsubscribeDefaults?.();
    await this.inbound?.stop();
    for (const u of this.upstreams.values()) await u.upstream.stop();
    this.upstreams.clear();
    await this.policy?.stop();
    await this.identity?.stop();
  }

  private async apply(cfg: SidecarConfig): Promise<void> {
    if (this.stopped) return;
    if (this.identity && this.identity.service !== cfg.service) {
      // A proxy for another service is a new proxy: start over.
      await this.inbound?.stop();
      this.inbound = null;
      this.inboundKey = "null";
      await this.policy?.stop();
      await this.identity.stop();
      this.identity = null;
      this.policy = null;
    }
    if (!this.identity) {
      this.identity = new MeshIdentity({ client: this.o.client, service: cfg.service, logger: this.log }).start();
      this.policy = new InboundPolicy({ client: this.o.client, service: cfg.service, logger: this.log, fallbackProtocol: cfg.protocol }).start();
      this.unsubscribeDefaults?.();
      // The service's UpstreamConfig changes the settings of running upstreams in place.
      this.unsubscribeDefaults = this.policy.onServiceDefaults(() => {
        for (const { upstream, config } of this.upstreams.values()) upstream.setSettings(this.upstreamSettings(config));
      });
    }
    this.policy!.setFallbackProtocol(cfg.protocol);
    const identity = this.identity;
    const policy = this.policy!;

    const pk = publicKey(cfg.public);
    if (pk !== this.inboundKey) {
      await this.inbound?.stop();
      this.inbound = null;
      if (cfg.public) {
        const pub = cfg.public;
        const inbound = new InboundListener({
          identity,
          policy,
          bindAddress: pub.bindAddress,
          bindPort: pub.bindPort,
          logger: this.log,
          handle: (s, ctx) => this.toApp(s, ctx, pub, policy),
        });
        await inbound.start();
        this.inbound = inbound;
        this.log.info(`public listener on ${pub.bindAddress}:${inbound.port} -> ${pub.localAddress}:${pub.localPort}`);
      }
      this.inboundKey = pk;
    }

    const wanted = new Map(cfg.upstreams.map((u) => [upstreamKey(u), u]));
    for (const [key, running] of this.upstreams) {
      if (wanted.has(key)) continue;
      await running.upstream.stop();
      this.upstreams.delete(key);
      this.log.info(`upstream "${running.upstream.service}" removed`);
    }
    for (const [key, u] of wanted) {
      if (this.upstreams.has(key)) continue;
      const upstream = new ChainUpstream({
        client: this.o.client,
        identity,
        service: u.destinationName,
        datacenter: u.datacenter,
        bindAddress: u.bindAddress,
        bindPort: u.bindPort,
        settings: this.upstreamSettings(u),
        logger: this.log,
        // Consul's precedence: the upstream's own mode, then the proxy registration's, then service-defaults, then proxy-defaults.
        meshGatewayMode: () => u.meshGatewayMode || this.config?.meshGatewayMode || policy.meshGatewayMode,
        modeLoaded: policy.ready(),
      });
      try {
        await upstream.start();
      } catch (err) {
        await upstream.stop();
        this.log.error(`upstream "${u.destinationName}" cannot listen on ${u.bindAddress}:${u.bindPort}: ${errorText(err)}`);
        continue;
      }
      this.upstreams.set(key, { key, upstream, config: u });
      this.log.info(`upstream "${u.destinationName}" listening on ${u.bindAddress}:${upstream.port}`);
    }
    this.config = cfg;
    this.readyResolve();
  }

  /**
   * An upstream's settings as Consul merges them: the service's
   * service-defaults UpstreamConfig Defaults, then its Override for this
   * upstream, then the upstream's own Config in the proxy registration.
   */
  private upstreamSettings(u: UpstreamConfig) {
    return parseUpstreamSettings(...(this.policy?.upstreamConfig(u.destinationName, u.destinationNamespace || "default") ?? []), u.config);
  }

  private toApp(client: Duplex, ctx: InboundContext, pub: PublicListenerConfig, policy: InboundPolicy): void {
    const connectApp = () =>
      new Promise<Socket>((resolve, reject) => {
        const s = netConnect({ host: pub.localAddress, port: pub.localPort, noDelay: true });
        s.once("connect", () => {
          s.off("error", reject);
          resolve(s);
        });
        s.once("error", reject);
      });
    // Where the runtime has its own sockets (cheaper per small read and write than its node:net), the L4 leg to the app rides them.
    const connectAppConn = nativeTcp() ? () => connectTcp({ host: pub.localAddress, port: pub.localPort }) : undefined;
    serveAdmitted({ client, ctx, policy, connectApp, ...(connectAppConn ? { connectAppConn } : {}), app: `local app ${pub.localAddress}:${pub.localPort}`, log: this.log });
  }
}
