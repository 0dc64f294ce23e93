/**
 * An upstream that follows its service's discovery chain: the compiled
 * chain and each of its targets' instances are blocking queries; a new chain
 * takes effect once every target it names has its instances, so traffic
 * moves over (a redirect, a failover, a new split) without a failed request.
 * The local listener speaks HTTP/1.1 through the L7 engine when the chain's
 * protocol is http; for http2 and grpc it also takes HTTP/2 with prior
 * knowledge (told apart by the connection preface, as Envoy's codec AUTO)
 * and reaches the upstream over HTTP/2; any other protocol is spliced (L4)
 * to the chain's first cluster.
 */
import { createServer as createH2Server, type Http2Server } from "node:http2";
import { type AddressInfo, createServer, type Server as NetServer, type Socket } from "node:net";
import { adoptHttp2 } from "../../src/runtime/mod.ts";
import type { Client, CompiledDiscoveryChainWire } from "../../src/api/mod.ts";
import { type ClusterRuntime, type Instance, L7Engine } from "../l7/engine.ts";
import { type ChainPlan, planChain, type TargetPlan } from "../l7/plan.ts";
import type { UpstreamSettings } from "../l7/upstream_config.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { Watch } from "../mesh/watch.ts";
import { allEndpoints, type Endpoint, meshGatewaysOf, type ServiceSetFollower } from "../gateway/catalog.ts";
import { fetchChain, fetchTargetInstances } from "./chain_sources.ts";
import { type H1FrontOptions, serveHttp1, sniffPreface } from "./h1_front.ts";
import { isH2Response, serveH2Stream, type UpstreamResponse } from "./h2_front.ts";
import { H2Pool } from "./h2_pool.ts";
import { HttpPool } from "./http_pool.ts";
import { serveTcp } from "./tcp_front.ts";

/** Largest request body buffered (it is kept for retries). */
export const MAX_REQUEST_BODY = 8 * 1024 * 1024;
/** How long a new chain waits for its targets' first instance lists before it is installed anyway. */
const TARGETS_READY_MS = 3_000;
const HTTP_LIKE = new Set(["http", "http2", "grpc"]);
/** Protocols whose upstream connections speak HTTP/2. */
const H2_PROTOCOLS = new Set(["http2", "grpc"]);

export interface ChainUpstreamOptions {
  readonly client: Client;
  readonly identity: MeshIdentity;
  readonly service: string;
  /** The upstream's datacenter ("" for the local one), compiled with ?compile-dc. */
  readonly datacenter: string;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly settings: UpstreamSettings;
  readonly logger?: MeshLogger;
  /**
   * The mesh gateway mode resolved by Consul's precedence (upstream, proxy
   * registration, service-defaults, proxy-defaults); "" falls back to the
   * mode compiled into each target.
   */
  readonly meshGatewayMode?: () => string;
  /** Resolves once the config entries behind `meshGatewayMode` are loaded: no plan is installed (nothing is dialled) before. */
  readonly modeLoaded?: Promise<unknown>;
}

interface TargetWatch {
  readonly key: string;
  readonly watch: Watch<Instance[]>;
}

export class ChainUpstream {
  private readonly o: ChainUpstreamOptions;
  private readonly log: MeshLogger;
  private readonly server: NetServer;
  private readonly sockets = new Set<Socket>();
  private chain: Watch<CompiledDiscoveryChainWire>;
  private readonly targets = new Map<string, TargetWatch>();
  private readonly gateways = new Map<string, ServiceSetFollower<Endpoint[]>>();
  private readonly pool: HttpPool;
  private readonly h2pool: H2Pool;
  private readonly h2server: Http2Server;
  private readonly engine: L7Engine<UpstreamResponse>;
  private readonly h1: H1FrontOptions;
  private settings: UpstreamSettings;
  private applying: Promise<void> = Promise.resolve();
  private planReady: () => void = () => {};
  private readonly firstPlan = new Promise<void>((r) => (this.planReady = r));
  private stopped = false;
  private chainJson = "";

  constructor(o: ChainUpstreamOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    this.settings = o.settings;
    this.pool = new HttpPool(o.identity);
    this.h2pool = new H2Pool(o.identity);
    const pool = this.pool;
    const h2pool = this.h2pool;
    const h2 = () => H2_PROTOCOLS.has(this.engine.currentPlan?.protocol ?? "");
    this.engine = new L7Engine<UpstreamResponse>({
      // The upstream side speaks HTTP/2 for http2/grpc chains, whatever the client spoke.
      transport: {
        send: (ep, cluster, req, signal) => (h2() ? h2pool.send(ep, cluster, req, signal) : pool.send(ep, cluster, req, signal)),
        start: (ep, cluster, req, signal, done) => {
          if (!h2()) return pool.start(ep, cluster, req, signal, done);
          h2pool.send(ep, cluster, req, signal).then(done, (err: unknown) => done({ kind: "failure", reason: "reset", message: String(err) }));
        },
        discard: (r) => (isH2Response(r) ? h2pool.discard(r) : pool.discard(r)),
      },
      instances: (id) => this.instancesOf(id),
    });
    this.h1 = { engine: this.engine, pool, maxBody: MAX_REQUEST_BODY };
    this.h2server = createH2Server();
    this.h2server.on("stream", (stream, headers) => {
      serveH2Stream({ engine: this.engine, pool, maxBody: MAX_REQUEST_BODY }, stream, headers).catch((err) => {
        this.log.debug(`upstream "${o.service}": http2 stream failed: ${errorText(err)}`);
        if (!stream.destroyed) stream.destroy();
      });
    });
    this.h2server.on("sessionError", () => {});
    this.server = createServer({ pauseOnConnect: true, noDelay: true }, (s) => this.accept(s));
    this.chain = this.chainWatch();
  }

  /** The compiled chain, by blocking query; an UpstreamConfig Protocol compiles it with OverrideProtocol, as Consul's proxycfg asks. */
  private chainWatch(): Watch<CompiledDiscoveryChainWire> {
    const o = this.o;
    const protocol = this.settings.protocol;
    return new Watch({
      name: `discovery chain ${o.service}`,
      fetch: (p) => fetchChain(o.client, o.service, o.datacenter, p, protocol),
      onUpdate: (c) => {
        this.applying = this.applying.then(() => this.applyChain(c)).catch((err) => this.log.error(`upstream "${o.service}": chain not applied: ${errorText(err)}`));
      },
      onError: (err, n) => {
        if (n === 1 || n % 20 === 0) this.log.warn(`upstream "${o.service}": chain watch failed (keeping the last good chain): ${errorText(err)}`);
      },
    });
  }

  get service(): string {
    return this.o.service;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  get plan(): ChainPlan | null {
    return this.engine.currentPlan;
  }

  /** Resolves once the first chain is installed. */
  ready(): Promise<void> {
    return this.firstPlan;
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.bindPort, this.o.bindAddress, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    this.chain.start();
    return this.port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.planReady();
    for (const s of this.sockets) s.destroy();
    this.pool.stop();
    this.h2pool.stop();
    await new Promise<void>((r) => this.server.close(() => r()));
    await this.chain.stop();
    await this.applying;
    await Promise.all([...this.targets.values()].map((t) => t.watch.stop()));
    await Promise.all([...this.gateways.values()].map((g) => g.stop()));
    this.targets.clear();
    this.gateways.clear();
  }

  /** Replaces the upstream settings (limits, passive health, connect timeout at once; a new protocol by compiling the chain again). */
  setSettings(settings: UpstreamSettings): void {
    const before = this.settings;
    this.settings = settings;
    const plan = this.engine.currentPlan;
    if (plan) this.engine.setPlan(plan, settings);
    if (settings.protocol !== before.protocol && !this.stopped) {
      const old = this.chain;
      this.chain = this.chainWatch();
      if (this.port !== 0) this.chain.start();
      void old.stop();
    }
  }

  /**
   * Where a target's connections go: its instances, or for a target in
   * another datacenter with mesh gateway mode `local` this datacenter's mesh
   * gateways, with `remote` that datacenter's (WAN addresses). The TLS
   * session is end to end with the service either way.
   */
  private route(t: TargetPlan): "direct" | "local" | "remote" {
    const local = this.o.identity.datacenter;
    if (t.datacenter === "" || local === null || t.datacenter === local) return "direct";
    const mode = (this.o.meshGatewayMode?.() || t.meshGatewayMode).toLowerCase();
    return mode === "local" ? "local" : mode === "remote" ? "remote" : "direct";
  }

  private gatewaysOf(dc: string): ServiceSetFollower<Endpoint[]> {
    let g = this.gateways.get(dc);
    if (!g) {
      g = meshGatewaysOf(this.o.client, dc, this.log).start();
      this.gateways.set(dc, g);
    }
    return g;
  }

  private instancesOf(id: string): readonly Instance[] {
    const t = this.engine.currentPlan?.targets.get(id);
    if (!t) return [];
    const r = this.route(t);
    if (r === "direct") return this.targets.get(id)?.watch.value ?? [];
    return allEndpoints(this.gatewaysOf(r === "local" ? "" : t.datacenter)).map((e) => (r === "remote" && e.wan ? e.wan : e));
  }

  private targetKey(t: TargetPlan): string {
    return JSON.stringify([t.service, t.datacenter, t.filter, t.onlyPassing]);
  }

  private async applyChain(chain: CompiledDiscoveryChainWire): Promise<void> {
    // A target in another datacenter must not be routed before its mesh gateway mode is known.
    if (this.o.modeLoaded) await this.o.modeLoaded;
    if (this.stopped) return;
    const json = JSON.stringify(chain);
    if (json === this.chainJson) return;
    const plan = planChain(chain);
    // Whether a target is reached through mesh gateways depends on this proxy's datacenter, known from its leaf.
    if (this.o.identity.datacenter === null) await this.within(this.o.identity.ready());
    const fresh: Promise<unknown>[] = [];
    const keep = new Set<string>();
    for (const t of plan.targets.values()) {
      const key = this.targetKey(t);
      keep.add(t.id);
      const cur = this.targets.get(t.id);
      if (cur && cur.key === key) continue;
      const watch = new Watch<Instance[]>({
        name: `target ${t.id}`,
        fetch: (p) => fetchTargetInstances(this.o.client, t, p),
        onUpdate: (list) => this.log.info(`upstream "${this.o.service}" target ${t.id}: ${list.length} instance(s)`),
        onError: (err, n) => {
          if (n === 1 || n % 20 === 0) this.log.warn(`upstream "${this.o.service}" target ${t.id} watch failed: ${errorText(err)}`);
        },
      }).start();
      fresh.push(watch.ready());
      const r = this.route(t);
      if (r !== "direct") fresh.push(this.gatewaysOf(r === "local" ? "" : t.datacenter).ready());
      if (cur) void cur.watch.stop();
      this.targets.set(t.id, { key, watch });
    }
    if (fresh.length > 0) await this.within(Promise.all(fresh));
    if (this.stopped) return;
    this.engine.setPlan(plan, this.settings);
    this.chainJson = json;
    for (const [id, t] of this.targets) {
      if (keep.has(id)) continue;
      this.targets.delete(id);
      void t.watch.stop();
    }
    this.log.info(`upstream "${this.o.service}": chain (${plan.protocol}) with ${plan.routes.length} route(s), ${plan.clusters.size} cluster(s)`);
    this.planReady();
  }

  /** Waits for `p`, at most TARGETS_READY_MS. */
  private async within(p: Promise<unknown>): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, TARGETS_READY_MS)))]);
    clearTimeout(timer);
  }

  private accept(s: Socket): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
    s.on("error", () => s.destroy());
    s.setNoDelay(true);
    const go = () => {
      const plan = this.engine.currentPlan;
      if (!plan) {
        s.destroy();
        return;
      }
      if (H2_PROTOCOLS.has(plan.protocol)) sniffPreface(this.h1, s, (got) => adoptHttp2(this.h2server, s, got));
      else if (HTTP_LIKE.has(plan.protocol)) serveHttp1(this.h1, s);
      else serveTcp({ engine: this.engine, identity: this.o.identity, service: this.o.service, log: this.log }, s, plan);
    };
    if (this.engine.currentPlan) go();
    else void this.within(this.firstPlan).then(go);
  }

  /** The effective config of this upstream: chain plan, clusters with their instances, breakers and ejections. */
  adminView(): Record<string, unknown> {
    const plan = this.engine.currentPlan;
    const clusters = [...this.engine.clusterRuntimes.values()].map((c: ClusterRuntime) => ({
      name: c.plan.name,
      targets: c.plan.targets.map((id) => ({ id, instances: (this.targets.get(id)?.watch.value ?? []).map((i) => `${i.address}:${i.port}`) })),
      connectTimeoutMs: c.connectTimeoutMs,
      ...(this.settings.balanceOutboundConnections ? { balanceOutboundConnections: this.settings.balanceOutboundConnections } : {}),
      requestTimeoutMs: c.plan.requestTimeoutMs,
      loadBalancer: c.plan.lb ?? { Policy: "round_robin" },
      circuitBreakers: { maxConnections: c.breaker.maxConnections, maxPendingRequests: c.breaker.maxPending, maxRequests: c.breaker.maxRequests, activeRequests: c.breaker.active, pendingRequests: c.breaker.pending, overflows: c.breaker.overflows },
      outlierDetection: c.outlier ? c.outlier.snapshot() : null,
    }));
    return {
      service: this.o.service,
      datacenter: this.o.datacenter,
      listener: `${this.o.bindAddress}:${this.port}`,
      protocol: plan?.protocol ?? null,
      routes: (plan?.routes ?? []).map((r) => ({ match: r.match, prefixRewrite: r.prefixRewrite || undefined, requestTimeoutMs: r.requestTimeoutMs || undefined, retry: r.retry ? { numRetries: r.retry.numRetries, on: [...r.retry.on], statusCodes: [...r.retry.statusCodes] } : undefined, legs: r.legs.map((l) => ({ weight: l.weight, cluster: l.cluster })) })),
      clusters,
      connections: H2_PROTOCOLS.has(plan?.protocol ?? "") ? this.h2pool.stats() : this.pool.stats(),
    };
  }
}
