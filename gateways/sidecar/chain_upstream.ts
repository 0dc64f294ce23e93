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
import { Buffer } from "node:buffer";
import { createServer as createH2Server, type Http2Server } from "node:http2";
import { type AddressInfo, createServer, type Server as NetServer, type Socket } from "node:net";
import { adoptHttp2 } from "../../src/runtime/mod.ts";
import type { Client, CompiledDiscoveryChainWire } from "../../src/api/mod.ts";
import { type ClusterRuntime, type Handled, type Instance, L7Engine } from "../l7/engine.ts";
import type { Fields } from "../l7/headers.ts";
import { type ChainPlan, planChain, type TargetPlan } from "../l7/plan.ts";
import type { L7Request } from "../l7/request.ts";
import type { UpstreamSettings } from "../l7/upstream_config.ts";
import { closesConnection, HttpParseError, parseRequestHead, requestFraming } from "../mesh/http1.ts";
import { pumpBody, readHead } from "../mesh/http_relay.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { Reader, splice, write } from "../mesh/relay.ts";
import { dialInstance } from "../mesh/upstream.ts";
import { Watch } from "../mesh/watch.ts";
import { allEndpoints, type Endpoint, meshGatewaysOf, type ServiceSetFollower } from "../gateway/catalog.ts";
import { fetchChain, fetchTargetInstances } from "./chain_sources.ts";
import { isH2Response, respondH2OnH1, serveH2Stream, type UpstreamResponse } from "./h2_front.ts";
import { H2Pool } from "./h2_pool.ts";
import { HttpPool } from "./http_pool.ts";

/** Largest request body buffered (it is kept for retries). */
export const MAX_REQUEST_BODY = 8 * 1024 * 1024;
/** How long a new chain waits for its targets' first instance lists before it is installed anyway. */
const TARGETS_READY_MS = 3_000;
const HTTP_LIKE = new Set(["http", "http2", "grpc"]);
/** Protocols whose upstream connections speak HTTP/2. */
const H2_PROTOCOLS = new Set(["http2", "grpc"]);
/** The start of HTTP/2's client connection preface (RFC 9113 3.4). */
const H2_PREFACE = new TextEncoder().encode("PRI * HTTP/2.0");

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

const REASONS: Record<number, string> = { 404: "Not Found", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 400: "Bad Request", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout" };

function localResponse(status: number, headers: Fields, body: string, close: boolean): string {
  let head = `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  head += `content-length: ${new TextEncoder().encode(body).length}\r\n`;
  if (close) head += "connection: close\r\n";
  return `${head}\r\n${body}`;
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
        discard: (r) => (isH2Response(r) ? h2pool.discard(r) : pool.discard(r)),
      },
      instances: (id) => this.instancesOf(id),
    });
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
      if (H2_PROTOCOLS.has(plan.protocol)) this.sniff(s);
      else if (HTTP_LIKE.has(plan.protocol)) this.serveHttp1(s);
      else this.serveTcp(s, plan);
    };
    if (this.engine.currentPlan) go();
    else void this.within(this.firstPlan).then(go);
  }

  private serveHttp1(s: Socket): void {
    s.resume();
    this.serveHttp(s).catch((err) => {
      if (err instanceof HttpParseError && !s.destroyed && !s.writableEnded) s.end(localResponse(err.status, [["content-type", "text/plain"]], err.message, true));
      else s.destroy();
    });
  }

  /** HTTP/2 with prior knowledge when the first bytes are its preface, else HTTP/1.1. */
  private sniff(s: Socket): void {
    let got = new Uint8Array(0);
    const timer = setTimeout(() => s.destroy(), 10_000);
    const onData = (c: Uint8Array) => {
      const next = new Uint8Array(got.length + c.length);
      next.set(got);
      next.set(c, got.length);
      got = next;
      const n = Math.min(got.length, H2_PREFACE.length);
      const h2 = got.subarray(0, n).every((b, i) => b === H2_PREFACE[i]);
      if (h2 && got.length < H2_PREFACE.length) return;
      clearTimeout(timer);
      s.off("data", onData);
      s.pause();
      if (h2) adoptHttp2(this.h2server, s, got);
      else {
        s.unshift(got);
        this.serveHttp1(s);
      }
    };
    s.on("data", onData);
    s.resume();
  }

  /** L4: the first route's first cluster, by its balancer, over mutual TLS. */
  private serveTcp(local: Socket, plan: ChainPlan): void {
    const leg = plan.routes[0]?.legs[0];
    const cluster = leg ? this.engine.clusterRuntimes.get(leg.cluster) : undefined;
    if (!cluster) {
      local.destroy();
      return;
    }
    let closed = false;
    local.once("close", () => (closed = true));
    const attempt = async (tries: number): Promise<void> => {
      const eps = this.engine.endpoints(cluster);
      const ep = cluster.balancer.pick(eps, null);
      if (!ep) throw new Error(`no healthy instance of "${this.o.service}"`);
      try {
        const m = this.o.identity.material ?? (await this.o.identity.ready());
        const remote = await dialInstance(m, { address: ep.address, port: ep.port, id: ep.key, node: "" }, { service: ep.target.service, namespace: ep.target.namespace, datacenter: ep.target.datacenter, subset: ep.target.subset }, this.o.identity.datacenter ?? "", cluster.connectTimeoutMs);
        cluster.outlier?.report(ep.key, false, eps.length);
        if (closed) {
          remote.destroy();
          return;
        }
        remote.setNoDelay(true);
        splice(local, remote);
        local.resume();
      } catch (err) {
        cluster.outlier?.report(ep.key, true, eps.length);
        if (tries > 1) return attempt(tries - 1);
        throw err;
      }
    };
    attempt(Math.min(3, Math.max(1, this.engine.endpoints(cluster).length))).catch((err) => {
      this.log.warn(`upstream "${this.o.service}": connection dropped: ${errorText(err)}`);
      local.destroy();
    });
  }

  private async serveHttp(client: Socket): Promise<void> {
    const r = new Reader(client);
    for (;;) {
      const raw = await readHead(r, 431);
      if (raw === null) break;
      const head = parseRequestHead(raw);
      const framing = requestFraming(head);
      const chunks: Uint8Array[] = [];
      let size = 0;
      await pumpBody(r, framing, async (c) => {
        size += c.length;
        if (size > MAX_REQUEST_BODY) throw new HttpParseError(413, "request body too large");
        chunks.push(c);
      });
      const body = new Uint8Array(size);
      let at = 0;
      for (const c of chunks) {
        body.set(c, at);
        at += c.length;
      }
      const close = closesConnection(head.version, head.headers);
      const req: L7Request = { method: head.method, target: head.target, headers: head.headers.fields, body, sourceIp: client.remoteAddress ?? "" };
      const h = await this.engine.handle(req);
      const keepGoing = await this.respond(client, h, head.method, close);
      if (!keepGoing) break;
    }
    if (!client.destroyed) client.end();
  }

  /** Writes one answer; false when the connection must end after it. */
  private async respond(client: Socket, h: Handled<UpstreamResponse>, method: string, close: boolean): Promise<boolean> {
    if (h.kind === "local") {
      await write(client, localResponse(h.status, h.headers, h.body, close));
      return !close;
    }
    if (isH2Response(h.response)) return respondH2OnH1(client, h, h.response, method, close);
    const res = h.response;
    let head = `HTTP/1.1 ${h.status} ${res.reason}\r\n`;
    for (const [k, v] of h.headers) {
      const lk = k.toLowerCase();
      if (lk !== "connection" && lk !== "keep-alive") head += `${k}: ${v}\r\n`;
    }
    const endAfter = close || res.framing.kind === "close";
    if (endAfter) head += "connection: close\r\n";
    head += "\r\n";
    let idle: ReturnType<typeof setTimeout> | undefined;
    const kill = () => res.conn.socket.destroy();
    const touch = () => {
      if (h.idleTimeoutMs <= 0) return;
      clearTimeout(idle);
      idle = setTimeout(kill, h.idleTimeoutMs);
    };
    h.signal.addEventListener("abort", kill, { once: true });
    try {
      touch();
      await pumpBody(
        res.conn.reader,
        res.framing,
        async (c) => {
          touch();
          await write(client, c);
        },
        Buffer.from(head, "latin1"),
      );
      if (this.pool.reusable(res) && method !== "CONNECT") this.pool.release(res.conn);
      else res.conn.socket.destroy();
    } catch (err) {
      res.conn.socket.destroy();
      client.destroy();
      throw err;
    } finally {
      clearTimeout(idle);
      h.signal.removeEventListener("abort", kill);
      h.done();
    }
    return !endAfter;
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
