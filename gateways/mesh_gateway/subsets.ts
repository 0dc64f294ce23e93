/**
 * Service-resolver subsets as a mesh gateway routes them: the gateway follows
 * its datacenter's `service-resolver` entries (one blocking query on the list)
 * and, for each subset they define, the Connect instances of the service that
 * pass the subset's Filter (a blocking `/v1/health/connect/<svc>?filter=`),
 * critical ones dropped and warning ones too when the subset is OnlyPassing,
 * as Consul builds a gateway's subset clusters. An SNI
 * `<subset>.<svc>.<ns>.<dc>.internal.<td>` routes to those instances.
 */
import type { Client } from "../../src/api/mod.ts";
import type { Endpoint } from "../gateway/catalog.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";
import { BLOCK_WAIT_MS } from "../mesh/sources.ts";
import { type BlockingParams, type Fetched, Watch } from "../mesh/watch.ts";

/** One subset of a resolver: which instances it takes. */
export interface SubsetDefinition {
  readonly service: string;
  readonly subset: string;
  readonly filter: string;
  readonly onlyPassing: boolean;
}

interface ResolverWire {
  Name?: string;
  Subsets?: Record<string, { Filter?: string; OnlyPassing?: boolean } | null> | null;
}

/** Every subset the datacenter's service-resolver entries define. */
export async function fetchSubsetDefinitions(client: Client, p: BlockingParams): Promise<Fetched<SubsetDefinition[]>> {
  const [entries, meta] = await client.query("/v1/config/service-resolver", { index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal }, (j) => (j ?? []) as ResolverWire[]);
  const value: SubsetDefinition[] = [];
  for (const e of entries) {
    if (typeof e.Name !== "string") continue;
    for (const [subset, def] of Object.entries(e.Subsets ?? {})) {
      value.push({ service: e.Name, subset, filter: def?.Filter ?? "", onlyPassing: def?.OnlyPassing === true });
    }
  }
  value.sort((a, b) => (a.service === b.service ? (a.subset < b.subset ? -1 : 1) : a.service < b.service ? -1 : 1));
  return { value, index: meta.lastIndex };
}

interface HealthRowWire {
  Node: { Node: string; Address: string };
  Service: { ID: string; Address: string; Port: number };
  Checks?: { Status: string }[] | null;
}

/** The Connect instances of a subset (its Filter applied by the agent). */
export async function fetchSubsetEndpoints(client: Client, d: SubsetDefinition, p: BlockingParams): Promise<Fetched<Endpoint[]>> {
  const [rows, meta] = await client.query(
    `/v1/health/connect/${encodeURIComponent(d.service)}`,
    { index: p.index, wait: BLOCK_WAIT_MS, signal: p.signal, ...(d.filter ? { filter: d.filter } : {}) },
    (j) => (j ?? []) as HealthRowWire[],
  );
  const value = rows
    .filter((r) => (r.Checks ?? []).every((c) => c.Status === "passing" || (!d.onlyPassing && c.Status === "warning")))
    .map((r) => ({ address: r.Service.Address || r.Node.Address, port: r.Service.Port, id: r.Service.ID, node: r.Node.Node }));
  return { value, index: meta.lastIndex };
}

const keyOf = (service: string, subset: string) => `${service.toLowerCase()}\n${subset.toLowerCase()}`;

export class SubsetFollower {
  private readonly client: Client;
  private readonly log: MeshLogger;
  private readonly definitions: Watch<SubsetDefinition[]>;
  private readonly watches = new Map<string, { def: string; watch: Watch<Endpoint[]> }>();
  private stopped = false;

  constructor(o: { client: Client; logger?: MeshLogger }) {
    this.client = o.client;
    this.log = o.logger ?? silentLogger;
    this.definitions = new Watch({
      name: "service-resolvers",
      fetch: (p) => fetchSubsetDefinitions(o.client, p),
      onUpdate: (defs) => this.sync(defs),
      onError: (err, n) => {
        if (n === 1 || n % 20 === 0) this.log.warn(`service-resolver watch failed (keeping the last good subsets): ${errorText(err)}`);
      },
    });
  }

  start(): this {
    this.definitions.start();
    return this;
  }

  /** The resolvers and every subset's instances have arrived at least once. */
  get complete(): boolean {
    if (this.definitions.value === undefined) return false;
    for (const w of this.watches.values()) if (w.watch.value === undefined) return false;
    return true;
  }

  get size(): number {
    return this.watches.size;
  }

  /** The instances of a subset (none until its first answer), or undefined when no resolver defines it. */
  get(service: string, subset: string): readonly Endpoint[] | undefined {
    const w = this.watches.get(keyOf(service, subset));
    return w ? (w.watch.value ?? []) : undefined;
  }

  private sync(defs: SubsetDefinition[]): void {
    if (this.stopped) return;
    const wanted = new Map(defs.map((d) => [keyOf(d.service, d.subset), d]));
    for (const [key, w] of this.watches) {
      const d = wanted.get(key);
      if (d && JSON.stringify(d) === w.def) continue;
      this.watches.delete(key);
      void w.watch.stop();
    }
    for (const [key, d] of wanted) {
      if (this.watches.has(key)) continue;
      this.log.info(`following subset ${d.subset} of ${d.service}${d.filter ? ` (${d.filter})` : ""}`);
      const watch = new Watch<Endpoint[]>({
        name: `subset ${d.subset} of ${d.service}`,
        fetch: (p) => fetchSubsetEndpoints(this.client, d, p),
        onUpdate: () => {},
        onError: (err, n) => {
          if (n === 1 || n % 20 === 0) this.log.warn(`subset ${d.subset} of ${d.service} watch failed (keeping the last good list): ${errorText(err)}`);
        },
      });
      this.watches.set(key, { def: JSON.stringify(d), watch: watch.start() });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.definitions.stop(), ...[...this.watches.values()].map((w) => w.watch.stop())]);
    this.watches.clear();
  }
}
