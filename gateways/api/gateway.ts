/**
 * `consulate connect proxy -gateway=api`: an API gateway as a mesh member.
 * It follows its api-gateway entry, the routes the controller bound to it,
 * JWT providers, certificates and the routed services' discovery chains
 * (gateways/api/source.ts, blocking queries, last good config kept), opens
 * one listener per http listener of the entry (TLS by SNI from
 * inline-certificate / file-system-certificate entries), and serves each
 * through the portable fetch handler, forwarding into the mesh over mutual
 * TLS with its own leaf. A new config swaps the listener's table in place:
 * listeners and their connections stay open.
 *
 * With an edge relay (`-edge-bind`), it also accepts the edge bundle's
 * requests: mutual TLS where the edge presents this gateway's leaf and the
 * relay presents a certificate with a DNS name (workerd checks one), and
 * the request names the target the edge's table chose.
 */
import { readFile } from "node:fs/promises";
import type { Client } from "../../src/api/mod.ts";
import { servedOn } from "../../src/configentry/gateway_status.ts";
import { arr, type EntryBody, n, o, s } from "../../src/configentry/kinds/kind.ts";
import { backoffDelay } from "../../src/util/mod.ts";
import type { Instance } from "../l7/engine.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { MeshIdentity } from "../mesh/identity.ts";
import { verifyPeer } from "../mesh/tls.ts";
import { Watch } from "../mesh/watch.ts";
import { fetchTargetInstances } from "../sidecar/chain_sources.ts";
import { GatewayHandler } from "./handler.ts";
import { JwtVerifier } from "./jwt.ts";
import { fetchJwksInProcess } from "./jwks_fetch.ts";
import { type GatewayListener, listenerTls, openListener } from "./listener.ts";
import { type CertPair, SniCertificates } from "./node_server.ts";
import { RelayServer } from "./relay_server.ts";
import { PoolTransport } from "./pool_transport.ts";
import { relayHandler } from "./relay.ts";
import { type GatewayConfig, type HttpApi, loadConfig, waitForChange } from "./source.ts";
import { buildListenerTable } from "./table.ts";
import { type TcpPlan, TcpListener, tcpPlan } from "./tcp.ts";
import type { TargetPlan } from "../l7/plan.ts";

/** How long a new table waits for its new targets' first instance lists. */
const TARGETS_READY_MS = 3_000;

export interface ApiGatewayOptions {
  readonly client: Client;
  readonly api: HttpApi;
  /** The api-gateway entry's name, which is also the service name. */
  readonly name: string;
  /** The host the listeners bind (their ports come from the entry). */
  readonly host: string;
  readonly logger?: MeshLogger;
  /** The edge relay: where it listens and the certificate entry it presents. */
  readonly edge?: { readonly host: string; readonly port: number; readonly certificate: string } | null;
}

interface OpenListener {
  readonly name: string;
  readonly port: number;
  readonly handler: GatewayHandler;
  readonly server: GatewayListener;
  readonly tls: boolean;
}

export class ApiGateway {
  readonly #o: ApiGatewayOptions;
  readonly #log: MeshLogger;
  readonly identity: MeshIdentity;
  readonly #transport: PoolTransport;
  readonly #verifier = new JwtVerifier(Date.now, fetchJwksInProcess);
  readonly #targets = new Map<string, { key: string; watch: Watch<Instance[]> }>();
  readonly #listeners = new Map<string, OpenListener>();
  readonly #tcp = new Map<string, TcpListener>();
  readonly #abort = new AbortController();
  #loop: Promise<void> | null = null;
  #config: GatewayConfig | null = null;
  #edge: RelayServer | null = null;
  #edgeCerts = new SniCertificates();
  #ready = false;
  #firstApplied: () => void = () => {};
  readonly #first = new Promise<void>((r) => (this.#firstApplied = r));

  constructor(o: ApiGatewayOptions) {
    this.#o = o;
    this.#log = o.logger ?? silentLogger;
    this.identity = new MeshIdentity({ client: o.client, service: o.name, logger: this.#log }).start();
    this.#transport = new PoolTransport(this.identity);
  }

  get ready(): boolean {
    return this.#ready;
  }

  /** Listener name -> bound port. */
  get listenerPorts(): Record<string, number> {
    return { ...Object.fromEntries([...this.#listeners.values()].map((l) => [l.name, l.port])), ...Object.fromEntries([...this.#tcp].map(([name, l]) => [name, l.port])) };
  }

  get edgePort(): number {
    return this.#edge?.port ?? 0;
  }

  get ports(): number[] {
    return [...this.#listeners.values()].map((l) => l.port);
  }

  handler(listener: string): GatewayHandler | null {
    return this.#listeners.get(listener)?.handler ?? null;
  }

  /** Loads the first config and opens the listeners; then follows changes. */
  async start(): Promise<void> {
    await this.identity.ready();
    this.#loop = this.#run();
    await this.#first;
    if (this.#o.edge) {
      const gatewayName = this.#o.name;
      const trustDomain = () => this.identity.material?.trustDomain ?? "";
      this.#edge = new RelayServer({
        certificates: this.#edgeCerts,
        ca: this.identity.material?.roots ?? [],
        peer: (socket) => {
          const v = verifyPeer(socket, trustDomain());
          if (!v.ok) return v.reason;
          return v.identity.service === gatewayName ? null : `client ${JSON.stringify(v.identity.service)} is not the gateway ${JSON.stringify(gatewayName)}`;
        },
        handler: (req, refused) =>
          relayHandler(req, {
            peer: () => refused,
            handlers: () => [...this.#listeners.values()].map((l) => l.handler),
            transport: this.#transport,
          }).catch((err: unknown) => {
            this.#log.warn(`edge relay: request failed: ${errorText(err)}`);
            return new Response("upstream reset", { status: 502, headers: { "content-type": "text/plain" } });
          }),
      });
      await this.#edge.listen(this.#o.edge.host, this.#o.edge.port);
      this.#log.info(`edge relay listening on ${this.#o.edge.host}:${this.#edge.port}`);
    }
  }

  async #run(): Promise<void> {
    let failures = 0;
    let index = 0;
    while (!this.#abort.signal.aborted) {
      try {
        const cfg = await loadConfig(this.#o.api, this.#o.name, this.#abort.signal);
        await this.#apply(cfg);
        failures = 0;
        index = await waitForChange(this.#o.api, Math.max(cfg.index, index), 60_000, this.#abort.signal);
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        failures++;
        if (failures === 1 || failures % 20 === 0) this.#log.warn(`api gateway "${this.#o.name}": config not loaded (keeping the last good one): ${errorText(err)}`);
        await new Promise((r) => setTimeout(r, backoffDelay(failures, { initialMs: 200, maxMs: 5_000 })));
      }
    }
  }

  async #certificate(ref: { Kind?: string; Name?: string }): Promise<CertPair | null> {
    const cfg = this.#config!;
    if ((ref.Kind ?? "inline-certificate") === "inline-certificate") {
      const c = cfg.certificates.get(ref.Name ?? "");
      return c ? { certPem: s(c, "Certificate"), keyPem: s(c, "PrivateKey") } : null;
    }
    const fs = await this.#o.client.configEntries().get("file-system-certificate", ref.Name ?? "").catch(() => null);
    const e = fs?.[0] as EntryBody | undefined;
    if (!e) return null;
    return { certPem: await readFile(s(e, "Certificate"), "utf8"), keyPem: await readFile(s(e, "PrivateKey"), "utf8") };
  }

  async #apply(cfg: GatewayConfig): Promise<void> {
    this.#config = cfg;
    const gw = cfg.gateway;
    if (!gw) {
      this.#log.warn(`api gateway "${this.#o.name}": no api-gateway config entry of that name yet`);
      return;
    }
    this.#verifier.setProviders(cfg.providers);
    const fresh: Promise<unknown>[] = [];
    const keep = new Set<string>();
    const tables = new Map<string, ReturnType<typeof buildListenerTable>>();
    for (const l of arr(gw, "Listeners")) {
      if (s(l, "Protocol") !== "http") continue;
      const name = s(l, "Name");
      const routes = cfg.httpRoutes.filter((r) => servedOn(r, gw, name));
      const table = buildListenerTable(gw, name, routes, cfg.chains);
      tables.set(name, table);
      for (const t of table.plan.targets.values()) {
        keep.add(t.id);
        const w = this.#watchTarget(t);
        if (w) fresh.push(w);
      }
    }
    const tcpPlans = new Map<string, TcpPlan | null>();
    for (const l of arr(gw, "Listeners")) {
      if (s(l, "Protocol") !== "tcp") continue;
      const name = s(l, "Name");
      // A tcp listener carries one route with one service (Consul binds no more).
      const route = cfg.tcpRoutes.find((r) => servedOn(r, gw, name));
      const svc = route ? s(arr(route, "Services")[0], "Name") : "";
      const chain = cfg.chains.get(svc);
      const plan = chain ? tcpPlan(svc, chain) : null;
      tcpPlans.set(name, plan);
      for (const t of plan?.targets ?? []) {
        keep.add(t.id);
        const w = this.#watchTarget(t);
        if (w) fresh.push(w);
      }
    }
    if (fresh.length > 0) await within(Promise.all(fresh), TARGETS_READY_MS);
    for (const l of arr(gw, "Listeners")) {
      const name = s(l, "Name");
      if (!tcpPlans.has(name)) continue;
      const pairs: CertPair[] = [];
      for (const ref of arr(o(l, "TLS"), "Certificates")) {
        const pair = await this.#certificate(ref as { Kind?: string; Name?: string });
        if (pair) pairs.push(pair);
      }
      const tls = pairs.length > 0 ? listenerTls(o(l, "TLS") as Parameters<typeof listenerTls>[0], pairs) : null;
      let open = this.#tcp.get(name);
      if (!open) {
        open = new TcpListener({ host: this.#o.host, port: n(l, "Port"), tls, identity: this.identity, instances: (id) => this.#instances(id), log: this.#log, name });
        const port = await open.listen();
        this.#tcp.set(name, open);
        this.#log.info(`listener ${name} (tcp${tls ? ", tls" : ""}) on ${this.#o.host}:${port}`);
      } else if (tls) open.setTls(tls);
      const plan = tcpPlans.get(name) ?? null;
      open.setPlan(plan);
      this.#log.info(`listener ${name}: ${plan ? `to ${plan.service}` : "no tcp-route bound"}`);
    }
    for (const l of arr(gw, "Listeners")) {
      const name = s(l, "Name");
      const table = tables.get(name);
      if (!table) continue;
      const pairs: CertPair[] = [];
      for (const ref of arr(o(l, "TLS"), "Certificates")) {
        const pair = await this.#certificate(ref as { Kind?: string; Name?: string });
        if (pair) pairs.push(pair);
      }
      const unknownCiphers: string[] = [];
      const tls = pairs.length > 0 ? listenerTls(o(l, "TLS") as Parameters<typeof listenerTls>[0], pairs, unknownCiphers) : null;
      if (unknownCiphers.length > 0) this.#log.warn(`listener ${name}: cipher suites left out (no equivalent here): ${unknownCiphers.join(", ")}`);
      let open = this.#listeners.get(name);
      if (open && open.port !== n(l, "Port") && n(l, "Port") !== 0 && open.port !== 0) {
        this.#log.warn(`listener ${name}: port changed to ${n(l, "Port")}; restart the gateway to move it`);
      }
      if (!open) {
        const handler = new GatewayHandler({ transport: this.#transport, instances: (id) => this.#instances(id), verifier: this.#verifier });
        const server = await openListener({ host: this.#o.host, port: n(l, "Port"), tls, fetch: (req, ip) => handler.fetch(req, ip), onError: (err) => this.#log.warn(`listener ${name}: request failed: ${errorText(err)}`) });
        open = { name, port: server.port, handler, server, tls: tls !== null };
        this.#listeners.set(name, open);
        this.#log.info(`listener ${name} (${tls ? "https" : "http"}) on ${this.#o.host}:${server.port}`);
      } else if (open.tls && tls) open.server.setTls(tls);
      open.handler.setTable(table);
      this.#log.info(`listener ${name}: ${table.plan.routes.length} route(s), ${table.plan.clusters.size} cluster(s)`);
    }
    if (this.#o.edge) {
      const pair = await this.#certificate({ Kind: "inline-certificate", Name: this.#o.edge.certificate });
      this.#edgeCerts.ca = this.identity.material?.roots ?? [];
      if (pair) this.#edgeCerts.set([{ hosts: ["*"], pair }]);
      else this.#log.warn(`edge relay: certificate ${JSON.stringify(this.#o.edge.certificate)} not found`);
    }
    for (const [id, t] of this.#targets) {
      if (keep.has(id)) continue;
      this.#targets.delete(id);
      void t.watch.stop();
    }
    this.#ready = true;
    this.#firstApplied();
  }

  #watchTarget(t: TargetPlan): Promise<unknown> | null {
    const key = JSON.stringify([t.service, t.datacenter, t.filter, t.onlyPassing]);
    const cur = this.#targets.get(t.id);
    if (cur && cur.key === key) return null;
    const watch = new Watch<Instance[]>({
      name: `target ${t.id}`,
      fetch: (p) => fetchTargetInstances(this.#o.client, t, p),
      onUpdate: (list) => this.#log.info(`target ${t.id}: ${list.length} instance(s)`),
      onError: (err, k) => {
        if (k === 1 || k % 20 === 0) this.#log.warn(`target ${t.id} watch failed: ${errorText(err)}`);
      },
    }).start();
    if (cur) void cur.watch.stop();
    this.#targets.set(t.id, { key, watch });
    return watch.ready();
  }

  #instances(id: string): readonly Instance[] {
    return this.#targets.get(id)?.watch.value ?? [];
  }

  prometheus(): string {
    const lines = ["# TYPE consulate_api_gateway_connections gauge"];
    for (const l of this.#listeners.values()) lines.push(`consulate_api_gateway_connections{listener="${l.name}"} ${l.server.connections}`);
    return `${lines.join("\n")}\n`;
  }

  /** Stops following the control plane, lets connections finish within `deadlineMs`, closes the rest. */
  async drain(deadlineMs: number): Promise<number> {
    this.#abort.abort();
    this.#firstApplied();
    const open = [...this.#listeners.values()].reduce((a, l) => a + l.server.connections, 0) + [...this.#tcp.values()].reduce((a, l) => a + l.connections, 0);
    await Promise.all([...[...this.#listeners.values()].map((l) => l.server.close(deadlineMs)), ...[...this.#tcp.values()].map((l) => l.close(deadlineMs))]);
    // Past the listeners nothing serves a client: each step gets a bound, so none can hold the exit.
    await within(this.#edge?.close() ?? Promise.resolve(), STOP_STEP_MS);
    await within(this.#loop ?? Promise.resolve(), STOP_STEP_MS);
    await within(Promise.all([...this.#targets.values()].map((t) => t.watch.stop())), STOP_STEP_MS);
    this.#targets.clear();
    this.#transport.stop();
    await within(this.identity.stop(), STOP_STEP_MS);
    return open;
  }
}

/** How long one shutdown step after the listeners may take before the gateway goes on without it. */
const STOP_STEP_MS = 3_000;

async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p.catch(() => {}), new Promise((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}
