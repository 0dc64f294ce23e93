/**
 * The client side of the mesh: the healthy Connect-capable instances of a
 * service (watched with a blocking query), a mutual-TLS dial to one of them
 * with Consul's SNI that insists the server really is that service, and the
 * local listener a sidecar opens for each upstream.
 */
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { connect as tlsConnect, type TLSSocket } from "node:tls";
import type { Client } from "../../src/api/mod.ts";
import { allEndpoints, type Endpoint, meshGatewaysOf, type ServiceSetFollower } from "../gateway/catalog.ts";
import type { MeshIdentity } from "./identity.ts";
import { errorText, type MeshLogger, silentLogger } from "./log.ts";
import { splice, whenConnected } from "./relay.ts";
import { fetchUpstream, type UpstreamInstance } from "./sources.ts";
import { forgetSession, keepSessions, sessionFor, sessionKey } from "./sessions.ts";
import { type ServiceIdentity, serviceSni } from "./spiffe.ts";
import { connectTlsNative, type TcpConn } from "../../src/runtime/tcp.ts";
import { clientTlsOptions, serverProblem, type TlsMaterial } from "./tls.ts";
import { Watch } from "./watch.ts";

export interface UpstreamTarget {
  readonly service: string;
  readonly namespace?: string;
  /** Empty for the local datacenter. */
  readonly datacenter?: string;
  /** A service-resolver subset: it goes into the SNI, so a mesh gateway routes to the subset's instances. */
  readonly subset?: string;
}

/** How a sidecar reaches another datacenter's service (Consul's MeshGateway.Mode); "" and "none" dial its instances directly. */
export type MeshGatewayRoute = "direct" | "local" | "remote";

export interface UpstreamResolverOptions {
  readonly client: Client;
  readonly target: UpstreamTarget;
  readonly logger?: MeshLogger;
  /** The mesh gateway mode in force for this upstream, already resolved by precedence. */
  readonly meshGatewayMode?: () => string;
  /** This endpoint's datacenter (null until known). */
  readonly localDatacenter?: () => string | null;
  /** Resolves once the config entries the mode depends on are loaded; until then a cross-datacenter upstream has no route. */
  readonly modeLoaded?: Promise<unknown>;
}

/**
 * Where connections for one upstream go, handed out round-robin: its healthy
 * Connect instances, or for a service in another datacenter with mode
 * `local` this datacenter's mesh gateways (LAN addresses), with mode
 * `remote` that datacenter's mesh gateways (WAN addresses). The TLS session
 * is end to end with the service either way: only the dialled address changes.
 */
export class UpstreamResolver {
  readonly target: UpstreamTarget;
  private readonly o: UpstreamResolverOptions;
  private readonly log: MeshLogger;
  private readonly watch: Watch<UpstreamInstance[]>;
  private localGateways: ServiceSetFollower<Endpoint[]> | null = null;
  private remoteGateways: ServiceSetFollower<Endpoint[]> | null = null;
  private lastRoute: MeshGatewayRoute | null = null;
  private modeKnown: boolean;
  private cursor = 0;

  constructor(o: UpstreamResolverOptions) {
    this.o = o;
    this.modeKnown = o.modeLoaded === undefined;
    void o.modeLoaded?.then(() => (this.modeKnown = true));
    this.target = o.target;
    const log = (this.log = o.logger ?? silentLogger);
    this.watch = new Watch({
      name: `upstream ${o.target.service}`,
      fetch: (p) => fetchUpstream(o.client, o.target.service, o.target.datacenter ?? "", p),
      onUpdate: (list) => log.info(`upstream "${o.target.service}": ${list.length} healthy instance(s)${list.length ? ` (${list.map((i) => `${i.address}:${i.port}`).join(", ")})` : ""}`),
      onError: (err, n) => {
        if (n === 1 || n % 20 === 0) log.warn(`upstream "${o.target.service}" watch failed (keeping the last good list): ${errorText(err)}`);
      },
    });
  }

  start(): this {
    this.watch.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.watch.stop(), this.localGateways?.stop(), this.remoteGateways?.stop()]);
  }

  private get crossDatacenter(): boolean {
    const dc = this.target.datacenter ?? "";
    const local = this.o.localDatacenter?.() ?? null;
    return dc !== "" && local !== null && dc !== local;
  }

  /** The route in force now: gateways only for a service of another datacenter. */
  get route(): MeshGatewayRoute {
    const dc = this.target.datacenter ?? "";
    const local = this.o.localDatacenter?.() ?? null;
    let r: MeshGatewayRoute = "direct";
    if (dc !== "" && local !== null && dc !== local) {
      const mode = (this.o.meshGatewayMode?.() ?? "").toLowerCase();
      r = mode === "local" ? "local" : mode === "remote" ? "remote" : "direct";
    }
    if (r !== this.lastRoute) {
      this.lastRoute = r;
      this.log.info(`upstream "${this.target.service}"${dc ? ` in ${dc}` : ""}: ${r === "direct" ? "dialling its instances directly" : `through the ${r === "local" ? "local" : `${dc}`} mesh gateways (mode ${r})`}`);
    }
    return r;
  }

  private gateways(route: "local" | "remote"): ServiceSetFollower<Endpoint[]> {
    if (route === "local") return (this.localGateways ??= meshGatewaysOf(this.o.client, "", this.log).start());
    return (this.remoteGateways ??= meshGatewaysOf(this.o.client, this.target.datacenter ?? "", this.log).start());
  }

  async ready(): Promise<readonly UpstreamInstance[]> {
    if (this.crossDatacenter && !this.modeKnown) await this.o.modeLoaded;
    const r = this.route;
    if (r === "direct") return this.watch.ready();
    await this.gateways(r).ready();
    return this.instances;
  }

  get instances(): readonly UpstreamInstance[] {
    // Until the mode is known, a cross-datacenter upstream has nowhere to go (dialling waits in ready()).
    if (this.crossDatacenter && !this.modeKnown) return [];
    const r = this.route;
    if (r === "direct") return this.watch.value ?? [];
    return allEndpoints(this.gateways(r)).map((e) => {
      const at = r === "remote" && e.wan ? e.wan : e;
      return { address: at.address, port: at.port, id: e.id, node: e.node };
    });
  }

  /** The next instance in turn, or null when none is healthy. */
  next(): UpstreamInstance | null {
    const list = this.instances;
    if (list.length === 0) return null;
    const i = list[this.cursor % list.length]!;
    this.cursor = (this.cursor + 1) % 1_000_000;
    return i;
  }
}

export const DIAL_TIMEOUT_MS = 5_000;

const expectService = (service: string, ns: string) => (id: ServiceIdentity) =>
  id.service === service && id.namespace === ns ? null : `server identity is service "${id.service}" (namespace ${id.namespace}), expected "${service}"`;

/** Opens mutual TLS to one instance and resolves once the server proved it is `target`. */
export function dialInstance(m: TlsMaterial, instance: UpstreamInstance, target: UpstreamTarget, localDc: string, timeoutMs = DIAL_TIMEOUT_MS, alpn?: readonly string[]): Promise<TLSSocket> {
  const dc = target.datacenter || localDc;
  const ns = target.namespace || "default";
  const sni = serviceSni(target.service, ns, dc, m.trustDomain, target.subset);
  const opts = clientTlsOptions(m, sni, expectService(target.service, ns));
  // The last session this instance gave us (same leaf, roots and identity): an abbreviated handshake.
  const key = sessionKey(instance.address, instance.port, sni, alpn);
  const session = sessionFor(m, key);
  const s = tlsConnect({ ...opts, host: instance.address, port: instance.port, ...(alpn ? { ALPNProtocols: [...alpn] } : {}) });
  // Set here rather than as the `session` option, which some runtimes parse twice (once in the socket's set-up, once in connect).
  if (session && typeof s.setSession === "function") s.setSession(session);
  keepSessions(m, key, s);
  const connected = whenConnected(s, "secureConnect", timeoutMs, `TLS handshake with ${instance.address}:${instance.port} timed out`);
  if (!session) return connected;
  return connected.catch((err: unknown) => {
    forgetSession(m, key);
    throw err;
  });
}

/**
 * dialInstance over the runtime's own TLS sockets where it has them (the same
 * checks: chain to the roots, the server's SPIFFE identity is `target`), else
 * null (dial with dialInstance). No session resumption on this path.
 */
export function dialInstanceConn(m: TlsMaterial, instance: UpstreamInstance, target: UpstreamTarget, localDc: string, timeoutMs = DIAL_TIMEOUT_MS): Promise<TcpConn> | null {
  const dc = target.datacenter || localDc;
  const ns = target.namespace || "default";
  return connectTlsNative({
    host: instance.address,
    port: instance.port,
    timeoutMs,
    tls: {
      cert: m.certPem,
      key: m.keyPem,
      ca: m.roots,
      serverName: serviceSni(target.service, ns, dc, m.trustDomain, target.subset),
      check: (san) => serverProblem(san, m.trustDomain, expectService(target.service, ns)),
    },
  });
}

/** Tries instances in round-robin turn until one answers (at most `attempts`). */
export async function dialUpstream(identity: MeshIdentity, resolver: UpstreamResolver, log: MeshLogger, attempts = 3): Promise<TLSSocket> {
  const m = identity.material ?? (await withTimeout(identity.ready(), DIAL_TIMEOUT_MS, "no leaf certificate yet"));
  if (resolver.instances.length === 0) await withTimeout(resolver.ready(), DIAL_TIMEOUT_MS, "upstream instances not known yet");
  const tries = Math.max(1, Math.min(attempts, resolver.instances.length));
  let last: unknown = new Error(`no healthy instance of "${resolver.target.service}"`);
  for (let i = 0; i < tries; i++) {
    const inst = resolver.next();
    if (!inst) break;
    try {
      return await dialInstance(m, inst, resolver.target, identity.datacenter ?? "");
    } catch (err) {
      last = err;
      log.warn(`upstream "${resolver.target.service}": ${inst.address}:${inst.port} failed: ${errorText(err)}`);
    }
  }
  throw last;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(what)), ms);
    }),
  ]);
}

/** A local port that carries each connection to a healthy instance of the upstream over mutual TLS. */
export class UpstreamListener {
  private readonly server: NetServer;
  private readonly sockets = new Set<Socket | TLSSocket>();
  private readonly o: { identity: MeshIdentity; resolver: UpstreamResolver; bindAddress: string; bindPort: number; logger?: MeshLogger };
  private readonly log: MeshLogger;

  constructor(o: { identity: MeshIdentity; resolver: UpstreamResolver; bindAddress: string; bindPort: number; logger?: MeshLogger }) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    this.server = createServer({ pauseOnConnect: true, noDelay: true }, (local) => this.accept(local));
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.bindPort, this.o.bindAddress, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
    return this.port;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  private track(s: Socket | TLSSocket): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
  }

  private accept(local: Socket): void {
    this.track(local);
    local.setNoDelay(true);
    let closed = false;
    local.once("close", () => (closed = true));
    local.on("error", () => local.destroy());
    dialUpstream(this.o.identity, this.o.resolver, this.log).then(
      (remote) => {
        this.track(remote);
        remote.setNoDelay(true);
        if (closed) {
          remote.destroy();
          return;
        }
        splice(local, remote);
        local.resume();
      },
      (err) => {
        this.log.warn(`upstream "${this.o.resolver.target.service}": connection from ${local.remoteAddress}:${local.remotePort} dropped: ${errorText(err)}`);
        local.destroy();
      },
    );
  }
}
