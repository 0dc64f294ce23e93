/**
 * The terminating gateway (`consulate connect proxy -gateway=terminating`):
 * mesh clients dial a linked service and reach this gateway (it is among the
 * service's Connect instances). It reads the SNI, presents that service's leaf
 * (mutual TLS, as the service's sidecar would), enforces the intentions that
 * name the service (L4, and L7 for http), and forwards to the service's
 * catalog instances over plain TCP or TLS.
 */
import { connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect, type SecureContext } from "node:tls";
import type { Client } from "../../src/api/mod.ts";
import { type Endpoint, fetchHealthyEndpoints, fetchServiceNames } from "../gateway/catalog.ts";
import { type BindAddress, GatewayListeners, listenSockets } from "../gateway/listeners.ts";
import { GatewayMetrics } from "../gateway/metrics.ts";
import { MeshIdentity } from "../mesh/identity.ts";
import { InboundListener } from "../mesh/inbound.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { InboundPolicy } from "../mesh/policy.ts";
import { serveAdmitted } from "../mesh/serve.ts";
import { whenConnected } from "../mesh/relay.ts";
import { acceptWithHello, refuse } from "../gateway/accept.ts";
import { type CARoots, type ConfigEntryWire, fetchConfigEntry, fetchRoots } from "../mesh/sources.ts";
import { Watch } from "../mesh/watch.ts";
import { parseMeshSni } from "../sni/names.ts";
import { type Link, linkKey, type LinkedServiceWire, originationContext, resolveLinks } from "./links.ts";

export interface TerminatingGatewayOptions {
  readonly client: Client;
  /** The gateway's service name: its config entry has this name. */
  readonly name: string;
  readonly datacenter: string;
  readonly binds: readonly BindAddress[];
  readonly maxConnections?: number;
  readonly helloTimeoutMs?: number;
  readonly logger?: MeshLogger;
}

interface Linked {
  readonly link: Link;
  readonly key: string;
  readonly identity: MeshIdentity;
  readonly policy: InboundPolicy;
  readonly inbound: InboundListener;
  readonly instances: Watch<Endpoint[]>;
  readonly tls: SecureContext | null;
  cursor: number;
}

const HELLO_TIMEOUT_MS = 10_000;
const DIAL_TIMEOUT_MS = 5_000;
const TYPICAL = 'ServiceKind == ""';

export class TerminatingGateway {
  readonly metrics = new GatewayMetrics("consulate_terminating_gateway");
  private readonly o: TerminatingGatewayOptions;
  private readonly log: MeshLogger;
  private readonly listeners: GatewayListeners<Socket>;
  private readonly entry: Watch<ConfigEntryWire | null>;
  private readonly typical: Watch<string[]>;
  private readonly roots: Watch<CARoots>;
  private readonly linked = new Map<string, Linked>();
  private stopped = false;

  constructor(o: TerminatingGatewayOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    const warn = (what: string) => (err: unknown, n: number) => {
      if (n === 1 || n % 20 === 0) this.log.warn(`${what} watch failed (keeping the last good one): ${errorText(err)}`);
    };
    this.entry = new Watch({ name: "terminating-gateway entry", fetch: (p) => fetchConfigEntry(o.client, "terminating-gateway", o.name, p), onUpdate: () => this.sync(), onError: warn("terminating-gateway entry") });
    this.typical = new Watch({ name: "services", fetch: (p) => fetchServiceNames(o.client, "", TYPICAL, p), onUpdate: () => this.sync(), onError: warn("services") });
    this.roots = new Watch({ name: "roots", fetch: (p) => fetchRoots(o.client, p), onUpdate: () => {}, onError: warn("CA roots") });
    this.listeners = new GatewayListeners({ binds: o.binds, maxConnections: o.maxConnections ?? 10_000, metrics: this.metrics, logger: this.log, listen: listenSockets, handle: (s) => this.accept(s) });
  }

  get ports(): number[] {
    return this.listeners.ports;
  }

  get ready(): boolean {
    return this.entry.value !== undefined && this.roots.value !== undefined && !this.listeners.draining;
  }

  /** The services linked now. */
  get services(): string[] {
    return [...this.linked.keys()].sort();
  }

  async start(): Promise<void> {
    this.entry.start();
    this.typical.start();
    this.roots.start();
    await this.listeners.start();
  }

  /** Resolves once every linked service's leaf, intentions and defaults are loaded. */
  async whenServing(): Promise<void> {
    await Promise.all([this.entry.ready(), this.roots.ready(), this.typical.ready()]);
    await Promise.all([...this.linked.values()].flatMap((l) => [l.identity.ready(), l.policy.ready(), l.instances.ready()]));
  }

  prometheus(): string {
    let tls = 0;
    let intention = 0;
    for (const l of this.linked.values()) {
      tls += l.inbound.refused.tls;
      intention += l.inbound.refused.intention;
    }
    return this.metrics.prometheus({ linked_services: this.linked.size, refused_mtls: tls, refused_intention: intention });
  }

  async drain(deadlineMs: number): Promise<number> {
    const cut = await this.listeners.drain(deadlineMs);
    this.stopped = true;
    await Promise.all([this.entry.stop(), this.typical.stop(), this.roots.stop()]);
    await Promise.all([...this.linked.values()].map((l) => this.unlink(l)));
    this.linked.clear();
    return cut;
  }

  private async unlink(l: Linked): Promise<void> {
    await Promise.all([l.inbound.stop(), l.policy.stop(), l.identity.stop(), l.instances.stop()]);
  }

  private sync(): void {
    if (this.stopped || this.entry.value === undefined) return;
    const wire = (this.entry.value?.Services ?? []) as LinkedServiceWire[];
    const wanted = new Map(resolveLinks(wire, this.typical.value ?? []).map((l) => [l.service.toLowerCase(), l]));
    for (const [name, l] of this.linked) {
      const w = wanted.get(name);
      if (w && linkKey(w) === l.key) continue;
      this.linked.delete(name);
      void this.unlink(l);
      if (!w) this.log.info(`service "${l.link.service}" unlinked`);
    }
    for (const [name, link] of wanted) {
      if (this.linked.has(name)) continue;
      let tls: SecureContext | null;
      try {
        tls = originationContext(link);
      } catch (err) {
        this.log.error(`service "${link.service}" not linked: ${errorText(err)}`);
        continue;
      }
      this.linked.set(name, this.link(link, tls));
      this.log.info(`service "${link.service}" linked (${tls ? `TLS${link.sni ? ` with SNI ${link.sni}` : ""}` : "plain TCP"} to its catalog instances)`);
    }
  }

  private link(link: Link, tls: SecureContext | null): Linked {
    const client = this.o.client;
    const identity = new MeshIdentity({ client, service: link.service, logger: this.log }).start();
    const policy = new InboundPolicy({ client, service: link.service, logger: this.log }).start();
    const instances = new Watch<Endpoint[]>({
      name: `instances of ${link.service}`,
      fetch: (p) => fetchHealthyEndpoints(client, link.service, "", p),
      onUpdate: (list) => this.log.info(`service "${link.service}": ${list.length} healthy instance(s)`),
      onError: (err, n) => {
        if (n === 1 || n % 20 === 0) this.log.warn(`instances of "${link.service}" watch failed (keeping the last good list): ${errorText(err)}`);
      },
    }).start();
    const l: Linked = {
      link,
      key: linkKey(link),
      identity,
      policy,
      instances,
      tls,
      cursor: 0,
      inbound: new InboundListener({
        identity,
        policy,
        bindAddress: "127.0.0.1",
        bindPort: 0,
        logger: this.log,
        handle: (s, ctx) => serveAdmitted({ client: s, ctx, policy, connectApp: () => this.dial(l), app: `external service "${link.service}"`, log: this.log }),
      }),
    };
    l.inbound.attach();
    return l;
  }

  private accept(raw: Socket): void {
    acceptWithHello(raw, { metrics: this.metrics, log: this.log, timeoutMs: this.o.helloTimeoutMs ?? HELLO_TIMEOUT_MS }, (hello, bytes, setRoute) => {
      const no = (reason: string, detail: string) => refuse(this.metrics, this.log, raw, reason, detail);
      const td = this.roots.value?.TrustDomain;
      if (!td) return no("not_ready", "CA roots not loaded yet");
      const sni = hello.serverName;
      const parsed = parseMeshSni(sni, td);
      if (!parsed.ok) return no(parsed.reason, parsed.detail);
      const n = parsed.name;
      if (n.datacenter !== this.o.datacenter.toLowerCase()) return no("unknown_datacenter", `${JSON.stringify(sni)} names datacenter ${n.datacenter}`);
      const l = this.linked.get(n.service);
      if (!l || n.subset !== "" || n.namespace !== "default") return no("unknown_service", `${JSON.stringify(sni)} is not a service linked to this gateway`);
      setRoute(l.link.service);
      raw.unshift(Buffer.from(bytes));
      l.inbound.adopt(raw);
    });
  }

  private dial(l: Linked): Promise<Duplex> {
    const list = l.instances.value ?? [];
    if (list.length === 0) {
      this.metrics.upstreamErrors.inc(l.link.service);
      return Promise.reject(new Error(`no healthy instance of "${l.link.service}" in the catalog`));
    }
    const ep = list[l.cursor++ % list.length]!;
    // The chain is checked against the entry's CAFile; like Envoy without SAN matching, the host name is not.
    const s: Socket = l.tls
      ? tlsConnect({ host: ep.address, port: ep.port, secureContext: l.tls, ...(l.link.sni ? { servername: l.link.sni } : {}), rejectUnauthorized: true, checkServerIdentity: () => undefined })
      : netConnect({ host: ep.address, port: ep.port, noDelay: true });
    return whenConnected<Duplex>(s, l.tls ? "secureConnect" : "connect", DIAL_TIMEOUT_MS, `connect to ${ep.address}:${ep.port} timed out`).catch((err: unknown) => {
      this.metrics.upstreamErrors.inc(l.link.service);
      throw new Error(`${ep.address}:${ep.port}: ${errorText(err)}`);
    });
  }
}
