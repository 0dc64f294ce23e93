/**
 * DnsLookup over the local state store. Consul's catalog indexes are
 * case-insensitive (memdb lower-cases them) while ours key on the exact name,
 * so this keeps lower-case maps, rebuilt only when the catalog tables move.
 */
import type { DnsLookup, InstanceDeck, PreparedQueryResult, ServiceInstance } from "./lookup.ts";
import { canonicalIp } from "./names.ts";
import { CHECKS, NODES, SERVICES } from "../state/catalog.ts";
import { CONFIG_TABLE, configKey } from "../state/config_entries.ts";
import { terminatingGatewayRows } from "../state/connect_read.ts";
import type { ServiceRow, Tables } from "../state/tables.ts";
import { virtualIpForService } from "../state/virtual_ips.ts";
import { consulServiceInstance, type HealthCheck, type Node, type NodeService } from "../structs/catalog.ts";

/** The part of the state store this reads. */
export interface StateSource {
  readonly t: Tables;
  /** Index of the last applied write; without it answers are not cached. */
  readonly lastApplied?: number;
}

export interface StateLookupOptions {
  readonly datacenter: string;
  /** This server's node: the name server when no `consul` service is registered. */
  readonly selfNode: string;
  readonly serverPort?: number;
  /**
   * The services an ingress gateway exposes ("*" for all). By default they
   * come from the gateway's `ingress-gateway` config entry (its listeners'
   * services); a gateway without one exposes nothing, as in Consul.
   */
  readonly ingressServices?: (gateway: string) => readonly string[];
}

const CACHE_MAX = 10_000;

export class StateDnsLookup implements DnsLookup {
  private readonly state: StateSource;
  private readonly opts: StateLookupOptions;
  private readonly dc: string;
  private tables: Tables | null = null;
  private servicesVersion = -1;
  private nodesVersion = -1;
  private healthVersion = -1;
  private serviceNames = new Map<string, string[]>();
  private nodeNames = new Map<string, string>();
  /** Built on the first connect lookup after the services table moved (null until then). */
  private connectIndex: Map<string, ServiceRow[]> | null = null;
  private instanceCache = new Map<string, readonly ServiceInstance[]>();
  private versionTables: Tables | null = null;
  private versionApplied = -1;
  private generation = 0;

  constructor(state: StateSource, opts: StateLookupOptions) {
    this.state = state;
    this.opts = opts;
    this.dc = opts.datacenter.toLowerCase();
  }

  /** Rebuilds the lower-case indexes when their tables changed (or were restored). */
  private sync(): Tables {
    const t = this.state.t;
    const fresh = t !== this.tables;
    this.tables = t;
    const sv = t.index(SERVICES);
    if (fresh || sv !== this.servicesVersion) {
      this.servicesVersion = sv;
      const names = new Map<string, string[]>();
      for (const name of t.servicesByName.keys()) {
        const lower = name.toLowerCase();
        const list = names.get(lower);
        if (list) list.push(name);
        else names.set(lower, [name]);
      }
      this.serviceNames = names;
      this.connectIndex = null;
    }
    const nv = t.index(NODES);
    if (fresh || nv !== this.nodesVersion) {
      this.nodesVersion = nv;
      const nodes = new Map<string, string>();
      for (const name of t.nodes.keys()) nodes.set(name.toLowerCase(), name);
      this.nodeNames = nodes;
    }
    // Ingress answers depend on ingress-gateway config entries too.
    const hv = Math.max(sv, nv, t.index(CHECKS), t.index(CONFIG_TABLE));
    if (fresh || hv !== this.healthVersion) {
      this.healthVersion = hv;
      this.instanceCache = new Map();
    }
    return t;
  }

  /** Moves on with every applied write and every restore (which may go back to an older index); NaN when the state cannot tell. */
  version(): number {
    const t = this.state.t;
    const applied = this.state.lastApplied;
    if (applied === undefined) return Number.NaN;
    if (t !== this.versionTables || applied !== this.versionApplied) {
      this.versionTables = t;
      this.versionApplied = applied;
      this.generation++;
    }
    return this.generation;
  }

  knowsDatacenter(dc: string): boolean {
    return dc.toLowerCase() === this.dc;
  }

  private instance(t: Tables, row: ServiceRow): ServiceInstance | null {
    const node = t.nodes.get(row.Node);
    if (!node) return null;
    // In no particular order (health and SRV weight do not depend on it): sorting every node's checks was a third of a large SRV answer.
    const checks: HealthCheck[] = [];
    for (const key of t.checksByNode.get(row.Node) ?? []) {
      const c = t.checks.get(key)!;
      if (c.ServiceID === "" || c.ServiceID === row.Service.ID) checks.push(c);
    }
    return { node, service: row.Service, checks };
  }

  private cached(key: string, build: (t: Tables) => ServiceInstance[]): readonly ServiceInstance[] {
    const t = this.sync();
    const hit = this.instanceCache.get(key);
    if (hit) return hit;
    const value = build(t);
    if (this.instanceCache.size >= CACHE_MAX) this.instanceCache.clear();
    this.instanceCache.set(key, value);
    return value;
  }

  private rowsOf(t: Tables, service: string): ServiceRow[] {
    const names = this.serviceNames.get(service.toLowerCase());
    if (!names) return [];
    const rows: ServiceRow[] = [];
    for (const n of names) rows.push(...t.instancesOf(n));
    return rows;
  }

  serviceInstances(dc: string, service: string): readonly ServiceInstance[] {
    if (!this.knowsDatacenter(dc)) return [];
    return this.cached(`s\u0000${service.toLowerCase()}`, (t) => this.toInstances(t, this.rowsOf(t, service)));
  }

  connectInstances(dc: string, service: string): readonly ServiceInstance[] {
    if (!this.knowsDatacenter(dc)) return [];
    return this.cached(`c\u0000${service.toLowerCase()}`, (t) => {
      const rows = [...(this.connectRows(t).get(service.toLowerCase()) ?? [])];
      // Terminating gateways answer for the services their config entry links.
      const names = new Set([service, ...(this.serviceNames.get(service.toLowerCase()) ?? [])]);
      for (const name of names) rows.push(...terminatingGatewayRows(t, name));
      return this.toInstances(t, rows);
    });
  }

  ingressInstances(dc: string, service: string): readonly ServiceInstance[] {
    if (!this.knowsDatacenter(dc)) return [];
    return this.cached(`i\u0000${service.toLowerCase()}`, (t) => {
      const wanted = service.toLowerCase();
      const registered = this.serviceNames.has(wanted);
      const rows: ServiceRow[] = [];
      for (const row of t.services.values()) {
        if (row.Service.Kind !== "ingress-gateway") continue;
        const exposed = this.opts.ingressServices?.(row.Service.Service) ?? exposedByEntry(t, row.Service.Service);
        // A named service is served even before it registers; the wildcard covers the services that exist.
        if (!exposed.some((s) => s.toLowerCase() === wanted || (s === "*" && registered))) continue;
        rows.push(row);
      }
      return this.toInstances(t, rows);
    });
  }

  private connectRows(t: Tables): Map<string, ServiceRow[]> {
    if (this.connectIndex) return this.connectIndex;
    const connect = new Map<string, ServiceRow[]>();
    for (const row of t.services.values()) {
      const key = connectTarget(row.Service);
      if (key === null) continue;
      const list = connect.get(key);
      if (list) list.push(row);
      else connect.set(key, [row]);
    }
    return (this.connectIndex = connect);
  }

  healthyInstances(dc: string, service: string, onlyPassing: boolean): InstanceDeck | null {
    if (!this.knowsDatacenter(dc)) return null;
    const t = this.sync();
    const sets = (this.serviceNames.get(service.toLowerCase()) ?? []).flatMap((name) => {
      const h = t.servicesByName.healthy(name);
      return h ? [onlyPassing ? h.passing : h.notCritical] : [];
    });
    let size = 0;
    for (const s of sets) size += s.size;
    return {
      size,
      at: (i) => {
        let j = i;
        for (const s of sets) {
          if (j < s.size) return this.instance(t, t.services.get(s.at(j))!)!;
          j -= s.size;
        }
        throw new RangeError(`instance ${i} of ${size}`);
      },
    };
  }

  private toInstances(t: Tables, rows: readonly ServiceRow[]): ServiceInstance[] {
    const out: ServiceInstance[] = [];
    for (const row of rows) {
      const inst = this.instance(t, row);
      if (inst) out.push(inst);
    }
    return out;
  }

  virtualIp(dc: string, service: string): string | null {
    if (!this.knowsDatacenter(dc)) return null;
    return virtualIpForService(this.state.t, service) || null;
  }

  node(dc: string, name: string): Node | null {
    if (!this.knowsDatacenter(dc)) return null;
    const t = this.sync();
    const actual = this.nodeNames.get(name.toLowerCase());
    return actual === undefined ? null : (t.nodes.get(actual) ?? null);
  }

  nodes(dc: string): readonly Node[] {
    if (!this.knowsDatacenter(dc)) return [];
    const t = this.sync();
    return [...t.nodes.values()].sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
  }

  instancesByAddress(dc: string, address: string): readonly ServiceInstance[] {
    if (!this.knowsDatacenter(dc)) return [];
    const t = this.sync();
    const want = canonicalIp(address) ?? address;
    const rows: ServiceRow[] = [];
    for (const row of t.services.values()) {
      if (row.Service.Address !== "" && (canonicalIp(row.Service.Address) ?? row.Service.Address) === want) rows.push(row);
    }
    rows.sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : a.Service.ID < b.Service.ID ? -1 : 1));
    return this.toInstances(t, rows);
  }

  servers(dc: string): readonly ServiceInstance[] {
    if (!this.knowsDatacenter(dc)) return [];
    const registered = this.serviceInstances(dc, "consul");
    if (registered.length > 0) return registered;
    // Consul servers register the `consul` service; ours does not yet, so this server stands in.
    const t = this.sync();
    const self = t.nodes.get(this.opts.selfNode);
    if (!self) return [];
    return [{ node: self, service: consulService(this.opts.serverPort ?? 8300), checks: t.checksOfNode(self.Node).filter((c) => c.ServiceID === "") }];
  }

  preparedQuery(_dc: string, _nameOrId: string, _sourceIp: string): PreparedQueryResult | null {
    // This lookup only reads state: prepared queries run through QueryingLookup (query_lookup.ts).
    return null;
  }
}

/** The name a connect-capable instance answers for in `<name>.connect`, lower-cased. */
function connectTarget(svc: NodeService): string | null {
  if (svc.Kind === "connect-proxy") {
    const dest = svc.Proxy?.DestinationServiceName;
    return typeof dest === "string" && dest !== "" ? dest.toLowerCase() : null;
  }
  if (svc.Connect?.Native === true) return svc.Service.toLowerCase();
  return null;
}

function consulService(port: number): NodeService {
  return { ...consulServiceInstance(port, {}), CreateIndex: 0, ModifyIndex: 0 };
}

/** The service names an `ingress-gateway` config entry's listeners name ("*" included). */
function exposedByEntry(t: Tables, gateway: string): string[] {
  const row = t.configEntries.get(configKey("ingress-gateway", gateway));
  if (!row) return [];
  const out: string[] = [];
  for (const l of (row.Entry.Listeners as { Services?: { Name?: string }[] }[] | undefined) ?? []) {
    for (const svc of l.Services ?? []) if (typeof svc.Name === "string") out.push(svc.Name);
  }
  return out;
}
