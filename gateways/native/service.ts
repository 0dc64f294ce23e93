/**
 * Connect-native integration: an app holds its own service identity and does
 * what a sidecar would, in-process — it serves mutual TLS (client chain,
 * trust domain, intentions on connect and, for http services, per request)
 * and dials other services over mutual TLS with Consul's SNI, checking that
 * the server is the service it asked for. Certificates, roots, intentions and
 * upstream instances follow the control plane through blocking queries.
 */
import type { TLSSocket, TlsOptions } from "node:tls";
import { Client, type ClientOptions } from "../../src/api/mod.ts";
import type { RequestHead } from "../mesh/http1.ts";
import { MeshIdentity } from "../mesh/identity.ts";
import { InboundListener } from "../mesh/inbound.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { InboundPolicy } from "../mesh/policy.ts";
import type { ServiceIdentity } from "../mesh/spiffe.ts";
import { serverTlsOptions, type TlsMaterial, verifyPeer } from "../mesh/tls.ts";
import { dialUpstream, UpstreamResolver, type UpstreamTarget } from "../mesh/upstream.ts";
import { type FetchHandler, fetchOver, serveHttp } from "./http.ts";

export interface ConnectServiceOptions {
  /** The service this app is (its leaf certificate and the destination of intentions). */
  readonly service: string;
  /** A `/v1` API client of the local agent, or options to make one. */
  readonly client?: Client | ClientOptions;
  readonly logger?: MeshLogger;
}

export interface Authorization {
  readonly allowed: boolean;
  readonly reason: string;
  /** The authenticated caller, when its certificate was valid. */
  readonly source: ServiceIdentity | null;
  /** Each HTTP request must still pass the intentions (the service's protocol is http). */
  readonly perRequest: boolean;
}

export interface ServeOptions {
  readonly port: number;
  readonly hostname?: string;
}

export interface Served {
  readonly port: number;
  close(): Promise<void>;
}

export class ConnectService {
  readonly name: string;
  readonly client: Client;
  private readonly log: MeshLogger;
  private readonly identity: MeshIdentity;
  private readonly policy: InboundPolicy;
  private readonly resolvers = new Map<string, UpstreamResolver>();
  private readonly closers = new Set<() => Promise<void> | void>();

  private constructor(o: ConnectServiceOptions) {
    this.name = o.service;
    this.client = o.client instanceof Client ? o.client : new Client(o.client ?? {});
    this.log = o.logger ?? silentLogger;
    this.identity = new MeshIdentity({ client: this.client, service: o.service, logger: this.log });
    this.policy = new InboundPolicy({ client: this.client, service: o.service, logger: this.log });
  }

  /** Starts watching the control plane and resolves once the leaf, roots and intentions are loaded. */
  static async create(o: ConnectServiceOptions): Promise<ConnectService> {
    const svc = new ConnectService(o);
    svc.identity.start();
    svc.policy.start();
    await Promise.all([svc.identity.ready(), svc.policy.ready()]);
    return svc;
  }

  get material(): TlsMaterial {
    return this.identity.material!;
  }

  /**
   * Options for `tls.createServer`: our leaf, the roots, a client certificate
   * required. Pass the server to `watchServer` so renewed certificates apply,
   * and judge each connection with `authorize`.
   */
  serverTLS(): TlsOptions {
    return serverTlsOptions(this.material);
  }

  /** Keeps a server's certificate and roots current (returns a function that stops). */
  watchServer(server: { setSecureContext(o: TlsOptions): void }): () => void {
    const off = this.identity.onChange((m) => server.setSecureContext(serverTlsOptions(m)));
    this.closers.add(off);
    return off;
  }

  /** Judges an accepted TLS connection: certificate chain, trust domain, then the intentions (L4). */
  authorize(socket: TLSSocket): Authorization {
    const v = verifyPeer(socket, this.material.trustDomain);
    if (!v.ok) return { allowed: false, reason: v.reason, source: null, perRequest: false };
    const d = this.policy.connection(v.identity);
    return { allowed: d.allowed, reason: d.reason, source: v.identity, perRequest: d.perRequest };
  }

  /** Judges one HTTP request of an authorized caller (L7 intentions). */
  authorizeRequest(source: ServiceIdentity, head: RequestHead): { allowed: boolean; reason: string } {
    return this.policy.request(source, head);
  }

  private resolver(target: UpstreamTarget): UpstreamResolver {
    const key = JSON.stringify([target.service, target.namespace ?? "", target.datacenter ?? ""]);
    let r = this.resolvers.get(key);
    if (!r) {
      r = new UpstreamResolver({ client: this.client, target, logger: this.log }).start();
      this.resolvers.set(key, r);
    }
    return r;
  }

  /** Opens mutual TLS to a healthy instance of `service` (round-robin), verified to be that service. */
  dial(service: string | UpstreamTarget): Promise<TLSSocket> {
    return dialUpstream(this.identity, this.resolver(typeof service === "string" ? { service } : service), this.log);
  }

  /** One HTTP request to `service` over the mesh; the URL's host part is only sent as Host. */
  async fetch(service: string, input: Request | string, init?: RequestInit): Promise<Response> {
    const req = typeof input === "string" ? new Request(new URL(input, `http://${service}`), init) : input;
    return fetchOver(await this.dial(service), req);
  }

  /**
   * Serves a fetch-style handler (a hono app's `fetch`) over mutual TLS on
   * `port`, with the same checks a sidecar makes (permissive mode admits
   * plain HTTP as it would).
   */
  async serve(handler: FetchHandler, o: ServeOptions): Promise<Served> {
    const inbound = new InboundListener({
      identity: this.identity,
      policy: this.policy,
      bindAddress: o.hostname ?? "127.0.0.1",
      bindPort: o.port,
      logger: this.log,
      handle: (s, ctx) => {
        const source = ctx.source;
        const decide = (head: RequestHead) => (ctx.perRequest && source ? this.policy.request(source, head) : { allowed: true, reason: "" });
        serveHttp(s, handler, decide, (head, reason) => this.log.warn(`${source?.service ?? "?"} ${head.method} ${head.target} denied: ${reason}`)).catch((err) =>
          this.log.debug(`connection ended: ${errorText(err)}`),
        );
      },
    });
    const port = await inbound.start();
    const close = () => inbound.stop();
    this.closers.add(close);
    return { port, close };
  }

  async close(): Promise<void> {
    for (const c of this.closers) await c();
    this.closers.clear();
    for (const r of this.resolvers.values()) await r.stop();
    this.resolvers.clear();
    await Promise.all([this.identity.stop(), this.policy.stop()]);
  }
}

/** A TLS server's `secureConnection` guard: closes (and reports) a connection the mesh refuses. */
export function guard(svc: ConnectService, onRefused?: (reason: string) => void): (socket: TLSSocket) => boolean {
  return (socket) => {
    const a = svc.authorize(socket);
    if (!a.allowed) {
      onRefused?.(a.reason);
      socket.destroy();
    }
    return a.allowed;
  };
}
