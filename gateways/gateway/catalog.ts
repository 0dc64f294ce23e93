/**
 * Following a set of services through the catalog: a blocking query on the
 * service names (optionally of one kind, in one datacenter) and one blocking
 * query per name on its healthy instances. The last good table is kept while
 * the control plane is unreachable; names that leave the catalog are dropped
 * with their watches.
 */
import type { Client } from "../../src/api/mod.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { BLOCK_WAIT_MS } from "../mesh/sources.ts";
import type { BlockingParams, Fetched } from "../mesh/watch.ts";
import { Watch } from "../mesh/watch.ts";

/** One healthy instance: where to dial it on its own network and, for gateways, from other datacenters. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
  readonly id: string;
  readonly node: string;
  /** The `wan` tagged address (mesh gateways), when the instance has one. */
  readonly wan?: { readonly address: string; readonly port: number };
}

export interface ServiceSetOptions<T> {
  readonly name: string;
  readonly listNames: (p: BlockingParams) => Promise<Fetched<string[]>>;
  readonly instancesOf: (name: string, p: BlockingParams) => Promise<Fetched<T>>;
  readonly logger?: MeshLogger;
  /** Called after any change of the table. */
  readonly onChange?: () => void;
}

export class ServiceSetFollower<T> {
  private readonly o: ServiceSetOptions<T>;
  private readonly log: MeshLogger;
  private readonly names: Watch<string[]>;
  private readonly perName = new Map<string, Watch<T>>();
  private stopped = false;

  constructor(o: ServiceSetOptions<T>) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    this.names = new Watch({
      name: o.name,
      fetch: o.listNames,
      onUpdate: (names) => this.sync(names),
      onError: (err, n) => {
        if (n === 1 || n % 20 === 0) this.log.warn(`${o.name} watch failed (keeping the last good table): ${errorText(err)}`);
      },
    });
  }

  start(): this {
    this.names.start();
    return this;
  }

  /** Resolves once the names are known and every name's instances arrived once. */
  async ready(): Promise<void> {
    await this.names.ready();
    await Promise.all([...this.perName.values()].map((w) => w.ready()));
  }

  get loaded(): boolean {
    return this.names.value !== undefined;
  }

  /** The names and every name's instances have arrived at least once. */
  get complete(): boolean {
    if (this.names.value === undefined) return false;
    for (const w of this.perName.values()) if (w.value === undefined) return false;
    return true;
  }

  /** The instances of `name`, or undefined when it is not (yet) known. */
  get(name: string): T | undefined {
    return this.perName.get(name)?.value;
  }

  has(name: string): boolean {
    return this.perName.has(name);
  }

  entries(): [string, T | undefined][] {
    return [...this.perName].map(([k, w]) => [k, w.value]);
  }

  private sync(names: string[]): void {
    if (this.stopped) return;
    const wanted = new Set(names);
    for (const [name, w] of this.perName) {
      if (wanted.has(name)) continue;
      this.perName.delete(name);
      void w.stop();
    }
    for (const name of wanted) {
      if (this.perName.has(name)) continue;
      const w = new Watch<T>({
        name: `${this.o.name} ${name}`,
        fetch: (p) => this.o.instancesOf(name, p),
        onUpdate: () => this.o.onChange?.(),
        onError: (err, n) => {
          if (n === 1 || n % 20 === 0) this.log.warn(`${this.o.name} "${name}" watch failed (keeping the last good list): ${errorText(err)}`);
        },
      });
      this.perName.set(name, w);
      w.start();
    }
    this.o.onChange?.();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.names.stop(), ...[...this.perName.values()].map((w) => w.stop())]);
    this.perName.clear();
  }
}

/** Service names in a datacenter ("" = the agent's), optionally only those with a given filter. */
export async function fetchServiceNames(client: Client, datacenter: string, filter: string, p: BlockingParams): Promise<Fetched<string[]>> {
  const [byName, meta] = await client.query(
    "/v1/catalog/services",
    { index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal, ...(datacenter ? { dc: datacenter } : {}), ...(filter ? { filter } : {}) },
    (j) => (j ?? {}) as Record<string, string[]>,
  );
  return { value: Object.keys(byName).sort(), index: meta.lastIndex };
}

interface HealthRowWire {
  Node: { Node: string; Address: string };
  Service: { ID: string; Address: string; Port: number; TaggedAddresses?: Record<string, { Address: string; Port: number }> | null };
}

/** Passing instances of `service` (`/v1/health/service`), with their tagged WAN address. */
export async function fetchHealthyEndpoints(client: Client, service: string, datacenter: string, p: BlockingParams): Promise<Fetched<Endpoint[]>> {
  const [rows, meta] = await client.query(
    `/v1/health/service/${encodeURIComponent(service)}`,
    { index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal, ...(datacenter ? { dc: datacenter } : {}) },
    (j) => (j ?? []) as HealthRowWire[],
    [["passing", "1"]],
  );
  const value = rows.map((r) => {
    const wan = r.Service.TaggedAddresses?.wan;
    const address = r.Service.Address || r.Node.Address;
    return { address, port: r.Service.Port, id: r.Service.ID, node: r.Node.Node, ...(wan && wan.Address ? { wan: { address: wan.Address, port: wan.Port || r.Service.Port } } : {}) };
  });
  return { value, index: meta.lastIndex };
}

/** The filter that picks mesh gateways out of `/v1/catalog/services`. */
export const MESH_GATEWAY_FILTER = 'ServiceKind == "mesh-gateway"';

/** The healthy mesh gateways of one datacenter ("" = the agent's), by gateway service name. */
export function meshGatewaysOf(client: Client, datacenter: string, logger?: MeshLogger, onChange?: () => void): ServiceSetFollower<Endpoint[]> {
  return new ServiceSetFollower<Endpoint[]>({
    name: `mesh gateways${datacenter ? ` of ${datacenter}` : ""}`,
    listNames: (p) => fetchServiceNames(client, datacenter, MESH_GATEWAY_FILTER, p),
    instancesOf: (name, p) => fetchHealthyEndpoints(client, name, datacenter, p),
    ...(logger ? { logger } : {}),
    ...(onChange ? { onChange } : {}),
  });
}

/** Every endpoint of a follower, flattened (mesh gateways of all names). */
export function allEndpoints(f: ServiceSetFollower<Endpoint[]>): Endpoint[] {
  return f.entries().flatMap(([, v]) => v ?? []);
}
