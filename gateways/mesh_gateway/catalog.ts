/**
 * The mesh gateway's view of the control plane, each part a blocking query
 * (the datacenter list is polled, as Consul's proxycfg does): the trust
 * domain from the CA roots, the healthy Connect instances of every local
 * service and of every service-resolver subset, and the healthy mesh
 * gateways of every other datacenter.
 */
import type { Client } from "../../src/api/mod.ts";
import { type Endpoint, meshGatewaysOf, allEndpoints, fetchServiceNames, ServiceSetFollower } from "../gateway/catalog.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { type CARoots, fetchRoots, fetchUpstream } from "../mesh/sources.ts";
import { Watch } from "../mesh/watch.ts";
import { SubsetFollower } from "./subsets.ts";
import type { RoutingTable } from "./table.ts";

/** How often the datacenter list is read (it has no blocking form). */
export const DATACENTERS_EVERY_MS = 10_000;

export class MeshGatewayCatalog {
  private readonly client: Client;
  private readonly log: MeshLogger;
  readonly datacenter: string;
  private readonly roots: Watch<CARoots>;
  private readonly services: ServiceSetFollower<Endpoint[]>;
  private readonly dcs: Watch<string[]>;
  private readonly subsets: SubsetFollower;
  private readonly remotes = new Map<string, ServiceSetFollower<Endpoint[]>>();
  private lowerNames = new Map<string, string>();
  private stopped = false;

  constructor(o: { client: Client; datacenter: string; logger?: MeshLogger }) {
    this.client = o.client;
    this.datacenter = o.datacenter;
    this.log = o.logger ?? silentLogger;
    const warn = (what: string) => (err: unknown, n: number) => {
      if (n === 1 || n % 20 === 0) this.log.warn(`${what} watch failed (keeping the last good table): ${errorText(err)}`);
    };
    this.roots = new Watch({ name: "roots", fetch: (p) => fetchRoots(o.client, p), onUpdate: (r) => this.log.info(`trust domain ${r.TrustDomain}`), onError: warn("CA roots") });
    this.services = new ServiceSetFollower<Endpoint[]>({
      name: "local services",
      listNames: (p) => fetchServiceNames(o.client, "", "", p),
      instancesOf: (name, p) => fetchUpstream(o.client, name, "", p),
      logger: this.log,
      onChange: () => {
        this.lowerNames = new Map(this.services.entries().map(([k]) => [k.toLowerCase(), k]));
      },
    });
    this.subsets = new SubsetFollower({ client: o.client, logger: this.log });
    this.dcs = new Watch({
      name: "datacenters",
      fetch: async () => ({ value: (await o.client.catalog().datacenters()).slice().sort(), index: 0 }),
      onUpdate: (list) => this.syncDatacenters(list),
      onError: warn("datacenters"),
      minIntervalMs: DATACENTERS_EVERY_MS,
    });
  }

  start(): this {
    this.roots.start();
    this.services.start();
    this.subsets.start();
    this.dcs.start();
    return this;
  }

  /** Resolves once the trust domain and the local services are known. */
  async ready(): Promise<void> {
    await Promise.all([this.roots.ready(), this.services.ready()]);
  }

  private syncDatacenters(list: string[]): void {
    if (this.stopped) return;
    const remote = new Set(list.filter((d) => d !== this.datacenter));
    for (const [dc, f] of this.remotes) {
      if (remote.has(dc)) continue;
      this.remotes.delete(dc);
      void f.stop();
    }
    for (const dc of remote) {
      if (this.remotes.has(dc)) continue;
      this.log.info(`following the mesh gateways of datacenter ${dc}`);
      this.remotes.set(dc, meshGatewaysOf(this.client, dc, this.log).start());
    }
  }

  /** The routing table, or null before the trust domain and local services are known. */
  table(): RoutingTable | null {
    const roots = this.roots.value;
    if (!roots || !this.services.loaded) return null;
    return {
      trustDomain: roots.TrustDomain,
      datacenter: this.datacenter,
      local: (service) => {
        const name = this.lowerNames.get(service.toLowerCase());
        return name === undefined ? undefined : this.services.get(name);
      },
      subset: (service, subset) => this.subsets.get(service, subset),
      remote: (dc) => {
        for (const [name, f] of this.remotes) if (name.toLowerCase() === dc) return allEndpoints(f);
        return undefined;
      },
    };
  }

  /** The trust domain and every local service's instances are known (a new service's first answer included). */
  get complete(): boolean {
    return this.roots.value !== undefined && this.services.complete && this.subsets.complete;
  }

  /** Figures for the metrics page. */
  stats(): Record<string, number> {
    return { known_services: this.services.entries().length, known_subsets: this.subsets.size, known_datacenters: this.remotes.size };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.roots.stop(), this.services.stop(), this.subsets.stop(), this.dcs.stop(), ...[...this.remotes.values()].map((f) => f.stop())]);
  }
}
