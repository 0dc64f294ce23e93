/**
 * The data plane of a `tcp` listener: each accepted connection goes to the
 * service of the tcp-route bound to the listener, over mutual TLS with the
 * gateway's own leaf (so the destination's intentions judge the gateway,
 * and a deny closes the connection). The service's discovery chain gives
 * the targets in failover order; an instance of the first target that has
 * one is dialled, the next ones on a failed dial. A listener with
 * certificates terminates TLS first (node:tls, the certificate by SNI).
 * A new route applies to new connections; open ones keep their peer.
 */
import { createServer as createNetServer, type Server, type Socket } from "node:net";
import { createServer as createTlsServer } from "node:tls";
import type { ListenerTls } from "../../src/runtime/serve_sni.ts";
import type { CompiledDiscoveryChainWire } from "../../src/api/discovery_chain.ts";
import type { Instance } from "../l7/engine.ts";
import { planChain, type TargetPlan } from "../l7/plan.ts";
import { errorText, type MeshLogger } from "../mesh/log.ts";
import type { MeshIdentity } from "../mesh/identity.ts";
import { splice } from "../mesh/relay.ts";
import { dialInstance } from "../mesh/upstream.ts";
import { boundsOptions, HANDSHAKE_TIMEOUT_MS, listenOn, SniCertificates } from "./node_server.ts";

/** Where a tcp listener sends its connections: the chain's targets in failover order. */
export interface TcpPlan {
  readonly service: string;
  readonly targets: readonly TargetPlan[];
}

/** The plan of a tcp-route's (first) service from its compiled discovery chain. */
export function tcpPlan(service: string, chain: CompiledDiscoveryChainWire): TcpPlan {
  const plan = planChain(chain);
  const leg = plan.routes[plan.routes.length - 1]?.legs.find((l) => l.weight > 0);
  const cluster = leg ? plan.clusters.get(leg.cluster) : undefined;
  const targets = (cluster?.targets ?? []).map((id) => plan.targets.get(id)).filter((t): t is TargetPlan => t !== undefined);
  return { service, targets };
}

export interface TcpListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ListenerTls | null;
  readonly identity: MeshIdentity;
  readonly instances: (targetId: string) => readonly Instance[];
  readonly log: MeshLogger;
  readonly name: string;
  /** A connection with no byte either way for this long is closed (Envoy's tcp_proxy default: 1 h). */
  readonly idleTimeoutMs?: number;
}

export const TCP_IDLE_TIMEOUT_MS = 3_600_000;

export class TcpListener {
  readonly #o: TcpListenerOptions;
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #certs: SniCertificates | null;
  #plan: TcpPlan | null = null;
  #turn = 0;

  constructor(o: TcpListenerOptions) {
    this.#o = o;
    const certs = o.tls && o.tls.certificates.length > 0 ? new SniCertificates() : null;
    this.#certs = certs;
    if (certs && o.tls) this.setTls(o.tls);
    const accept = (s: Socket) => {
      this.#sockets.add(s);
      s.once("close", () => this.#sockets.delete(s));
      s.on("error", () => s.destroy());
      void this.#forward(s);
    };
    this.#server = certs
      ? createTlsServer({ ...(certs.first ? { cert: certs.first.certPem, key: certs.first.keyPem } : {}), SNICallback: (n, cb) => cb(null, certs.pick(n) ?? undefined), ...boundsOptions(certs.bounds), handshakeTimeout: HANDSHAKE_TIMEOUT_MS }, accept)
      : createNetServer(accept);
  }

  setPlan(plan: TcpPlan | null): void {
    this.#plan = plan;
  }

  setTls(tls: ListenerTls): void {
    if (!this.#certs || tls.certificates.length === 0) return;
    this.#certs.bounds = { minVersion: tls.minVersion, maxVersion: tls.maxVersion, ciphers: tls.ciphers };
    this.#certs.set(tls.certificates.map((c, i) => ({ hosts: i === 0 ? ["*", ...c.serverNames] : c.serverNames, pair: { certPem: c.cert, keyPem: c.key } })));
  }

  get connections(): number {
    return this.#sockets.size;
  }

  listen(): Promise<number> {
    return listenOn(this.#server, this.#o.host, this.#o.port);
  }

  get port(): number {
    return (this.#server.address() as { port: number } | null)?.port ?? 0;
  }

  async #forward(client: Socket): Promise<void> {
    const plan = this.#plan;
    client.pause();
    if (!plan) {
      client.destroy();
      return;
    }
    const m = this.#o.identity.material;
    if (!m) {
      client.destroy();
      return;
    }
    // The first target (failover order) with an instance; up to three dials among its instances.
    for (const target of plan.targets) {
      const list = this.#o.instances(target.id);
      if (list.length === 0) continue;
      for (let i = 0; i < Math.min(3, list.length); i++) {
        const inst = list[this.#turn++ % list.length]!;
        try {
          const upstream = await dialInstance(m, { address: inst.address, port: inst.port, id: `${inst.address}:${inst.port}`, node: "" }, { service: target.service, namespace: target.namespace, datacenter: target.datacenter, subset: target.subset }, this.#o.identity.datacenter ?? "", target.connectTimeoutMs || undefined);
          if (client.destroyed) {
            upstream.destroy();
            return;
          }
          upstream.on("error", () => upstream.destroy());
          this.#sockets.add(upstream);
          upstream.once("close", () => this.#sockets.delete(upstream));
          splice(client, upstream);
          // Any byte either way passes through the client socket: its inactivity is the connection's.
          client.setTimeout(this.#o.idleTimeoutMs ?? TCP_IDLE_TIMEOUT_MS, () => {
            client.destroy();
            upstream.destroy();
          });
          client.resume();
          return;
        } catch (err) {
          this.#o.log.warn(`listener ${this.#o.name}: ${plan.service} at ${inst.address}:${inst.port} failed: ${errorText(err)}`);
        }
      }
      break;
    }
    client.destroy();
  }

  /** Stops accepting; open connections get `graceMs`, then are closed. */
  async close(graceMs = 0): Promise<void> {
    const closed = new Promise<void>((r) => this.#server.close(() => r()));
    if (graceMs > 0 && this.#sockets.size > 0) await Promise.race([closed, new Promise((r) => setTimeout(r, graceMs))]);
    for (const s of this.#sockets) s.destroy();
    await closed;
  }
}
