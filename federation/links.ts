/**
 * Every link this server holds to other datacenters, by name. Addresses come
 * from the agent config (`federation.datacenters`) and from WAN gossip: each
 * server advertises its datacenter's NATS URLs in its WAN member tags
 * (`fed_nats`), so joining the WAN pool is enough to link datacenters.
 */
import { type Connector, DatacenterLink, type LinkLog } from "./link.ts";
import { isDatacenterName } from "./subjects.ts";
import type { NatsConnection } from "@nats-io/transport-node";
import type { GossipPool, Member } from "../src/gossip/mod.ts";

/** The WAN member tag carrying a server's datacenter NATS URLs (comma-separated). */
export const NATS_TAG = "fed_nats";

export interface LinksOptions {
  /** This server's datacenter (never linked to itself). */
  readonly datacenter: string;
  readonly connector: Connector;
  /** Datacenter -> NATS URLs from the config file. */
  readonly staticUrls?: Readonly<Record<string, readonly string[]>>;
  readonly log?: LinkLog;
}

export class DatacenterLinks {
  private readonly o: LinksOptions;
  private readonly links = new Map<string, DatacenterLink>();
  private readonly log: LinkLog;
  private offGossip: (() => void) | null = null;
  private closed = false;

  constructor(o: LinksOptions) {
    this.o = o;
    this.log = o.log ?? (() => {});
    for (const [dc, urls] of Object.entries(o.staticUrls ?? {})) this.ensure(dc, urls);
  }

  /** The link to `dc`, or null when no address for it is known. */
  get(dc: string): DatacenterLink | null {
    return this.links.get(dc) ?? null;
  }

  /** Datacenters with a link (up or not). */
  names(): string[] {
    return [...this.links.keys()];
  }

  /** Whether calls to `dc` can go out now. */
  isUp(dc: string): boolean {
    return this.links.get(dc)?.isUp() ?? false;
  }

  /** Resolves once the links to `dcs` are all up, or after `timeoutMs` (whichever comes first). */
  async whenUp(dcs: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline && !dcs.every((dc) => dc === this.o.datacenter || this.isUp(dc))) await new Promise((r) => setTimeout(r, 50));
  }

  /** The connections of the links that are up. */
  connections(): NatsConnection[] {
    const out: NatsConnection[] = [];
    for (const l of this.links.values()) {
      const nc = l.connection();
      if (nc) out.push(nc);
    }
    return out;
  }

  /** Follows the WAN pool: datacenters whose servers advertise NATS URLs get a link. */
  followWan(wan: GossipPool): void {
    const sync = () => {
      const byDc = new Map<string, string[]>();
      for (const m of wan.members()) {
        const urls = natsUrlsOf(m);
        const dc = m.Tags.dc ?? "";
        if (urls.length === 0 || dc === this.o.datacenter || !isDatacenterName(dc) || m.Status === "left") continue;
        const list = byDc.get(dc) ?? [];
        for (const u of urls) if (!list.includes(u)) list.push(u);
        byDc.set(dc, list);
      }
      for (const [dc, urls] of byDc) this.ensure(dc, [...(this.o.staticUrls?.[dc] ?? []), ...urls.filter((u) => !(this.o.staticUrls?.[dc] ?? []).includes(u))]);
    };
    sync();
    this.offGossip = wan.on((e) => {
      if (e.type === "member-join" || e.type === "member-update" || e.type === "member-reap") sync();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.offGossip?.();
    await Promise.all([...this.links.values()].map((l) => l.close()));
    this.links.clear();
  }

  private ensure(dc: string, urls: readonly string[]): void {
    if (this.closed || dc === this.o.datacenter || !isDatacenterName(dc) || urls.length === 0) return;
    const have = this.links.get(dc);
    if (have) return have.setUrls(urls);
    const link = new DatacenterLink(dc, urls, this.o.connector, this.log);
    this.links.set(dc, link);
    link.start();
  }
}

export function natsUrlsOf(m: Member): string[] {
  const raw = m.Tags[NATS_TAG] ?? "";
  return raw === "" ? [] : raw.split(",").map((u) => u.trim()).filter((u) => /^(nats|tls):\/\/[^\s,]+$/.test(u));
}
