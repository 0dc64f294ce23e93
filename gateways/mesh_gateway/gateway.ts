/**
 * The mesh gateway's data path: read the ClientHello without terminating TLS,
 * route its server name (a local service's sidecars, or another datacenter's
 * gateways), dial, hand over the bytes already read, and splice both ways with
 * back-pressure and half-close. The gateway holds no private key: it never
 * sees plaintext. It only relays bytes, so it runs on the runtime's leanest
 * sockets (src/runtime/tcp.ts).
 */
import type { Client } from "../../src/api/mod.ts";
import { connectTcp, type TcpConn } from "../../src/runtime/tcp.ts";
import type { Endpoint } from "../gateway/catalog.ts";
import { type BindAddress, GatewayListeners, listenConns } from "../gateway/listeners.ts";
import { GatewayMetrics } from "../gateway/metrics.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { spliceTcp } from "../mesh/tcp_splice.ts";
import { acceptTcpWithHello, refuse } from "../gateway/accept.ts";
import { MeshGatewayCatalog } from "./catalog.ts";
import { route } from "./table.ts";

export interface MeshGatewayOptions {
  readonly client: Client;
  /** This gateway's datacenter. */
  readonly datacenter: string;
  readonly binds: readonly BindAddress[];
  readonly maxConnections?: number;
  /** How long a client may take to send its whole ClientHello. */
  readonly helloTimeoutMs?: number;
  readonly dialTimeoutMs?: number;
  readonly logger?: MeshLogger;
}

export const DEFAULT_MAX_CONNECTIONS = 10_000;
const HELLO_TIMEOUT_MS = 10_000;
const DIAL_TIMEOUT_MS = 5_000;
const DIAL_ATTEMPTS = 3;

export class MeshGateway {
  readonly metrics = new GatewayMetrics("consulate_mesh_gateway");
  readonly catalog: MeshGatewayCatalog;
  private readonly o: MeshGatewayOptions;
  private readonly log: MeshLogger;
  private readonly listeners: GatewayListeners<TcpConn>;
  private readonly cursors = new Map<string, number>();

  constructor(o: MeshGatewayOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    this.catalog = new MeshGatewayCatalog({ client: o.client, datacenter: o.datacenter, logger: this.log });
    this.listeners = new GatewayListeners({
      binds: o.binds,
      maxConnections: o.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      metrics: this.metrics,
      logger: this.log,
      listen: listenConns,
      handle: (s) => this.accept(s),
    });
  }

  get ports(): number[] {
    return this.listeners.ports;
  }

  get ready(): boolean {
    return this.catalog.complete && !this.listeners.draining;
  }

  /** Binds the listeners and starts following the catalog; connections are refused (not_ready) until the table is loaded. */
  async start(): Promise<void> {
    this.catalog.start();
    await this.listeners.start();
  }

  prometheus(): string {
    return this.metrics.prometheus(this.catalog.stats());
  }

  /** Stops accepting, lets open connections finish for up to `deadlineMs`, then stops following the catalog. */
  async drain(deadlineMs: number): Promise<number> {
    const cut = await this.listeners.drain(deadlineMs);
    await this.catalog.stop();
    return cut;
  }

  private accept(client: TcpConn): void {
    acceptTcpWithHello(client, { metrics: this.metrics, log: this.log, timeoutMs: this.o.helloTimeoutMs ?? HELLO_TIMEOUT_MS }, (hello, bytes, setRoute) => {
      const sni = hello.serverName;
      const rt = route(this.catalog.table(), sni);
      if (!rt.ok) return refuse(this.metrics, this.log, client, rt.reason, `${JSON.stringify(sni)}: ${rt.detail}`);
      setRoute(rt.label);
      // No peer address here: reading it is a getpeername system call on every connection.
      this.log.debug(`${JSON.stringify(sni)} (${hello.version}${hello.alpn.length ? `, alpn ${hello.alpn.join(",")}` : ""}) -> ${rt.kind} ${rt.label}`);
      void this.forward(client, bytes, rt.label, rt.endpoints, rt.useWan);
    });
  }

  private pick(label: string, endpoints: readonly Endpoint[], attempt: number): Endpoint {
    const c = this.cursors.get(label) ?? 0;
    if (attempt === 0) this.cursors.set(label, (c + 1) % 1_000_000);
    return endpoints[(c + attempt) % endpoints.length]!;
  }

  private async forward(client: TcpConn, hello: Uint8Array, label: string, endpoints: readonly Endpoint[], useWan: boolean): Promise<void> {
    const tries = Math.min(DIAL_ATTEMPTS, endpoints.length);
    for (let i = 0; i < tries; i++) {
      const ep = this.pick(label, endpoints, i);
      const host = useWan && ep.wan ? ep.wan.address : ep.address;
      const port = useWan && ep.wan ? ep.wan.port : ep.port;
      try {
        const timeout = this.o.dialTimeoutMs ?? DIAL_TIMEOUT_MS;
        const upstream = await connectTcp({ host, port, timeoutMs: timeout });
        if (client.closed) {
          upstream.destroy();
          return;
        }
        spliceTcp(client, upstream);
        // The client stays paused until the upstream took the hello.
        if (upstream.write(hello)) client.resume();
        return;
      } catch (err) {
        this.log.warn(`${label}: ${host}:${port} unreachable: ${errorText(err)}`);
      }
    }
    this.metrics.upstreamErrors.inc(label);
    refuse(this.metrics, this.log, client, "upstream_unreachable", `${label}: no endpoint answered`);
  }
}
