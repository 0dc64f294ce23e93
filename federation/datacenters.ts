/**
 * Which datacenters this server can reach, nearest first (Consul's
 * router.GetDatacentersByDistance, with one change: a datacenter that cannot
 * be reached drops out at once, and returns when it is back).
 *
 * A datacenter is listed when one of its servers is alive in the WAN pool, or
 * when this server holds a link to it that is up; a link that is down hides
 * the datacenter whatever gossip still says (gossip takes seconds to declare
 * a server failed, a dropped NATS connection is seen at once). Distance is the
 * median estimated round trip from our WAN coordinate to its servers'; our
 * own datacenter comes first, unknown distances last, ties by name.
 */
import { coordinateDistance, type Coordinate, type GossipPool } from "../src/gossip/mod.ts";

export interface LinkState {
  /** null: no link to that datacenter (gossip alone decides). */
  linkUp(dc: string): boolean | null;
  /** Datacenters with a link, listed even without a gossip member. */
  linked(): readonly string[];
}

export interface DatacenterDistance {
  readonly datacenter: string;
  /** Median estimated RTT in ms; 0 for our own, Infinity when unknown. */
  readonly rttMs: number;
}

export function datacentersByDistance(local: string, wan: GossipPool | null, links: LinkState | null): DatacenterDistance[] {
  const servers = new Map<string, string[]>();
  for (const m of wan?.members() ?? []) {
    if (m.Status !== "alive" || m.Tags.role !== "consul") continue;
    const dc = m.Tags.dc ?? "";
    if (dc === "") continue;
    const list = servers.get(dc) ?? [];
    list.push(m.Name);
    servers.set(dc, list);
  }
  for (const dc of links?.linked() ?? []) if (!servers.has(dc)) servers.set(dc, []);
  const own = wan?.coordinate() ?? null;
  const coords = wan?.coordinates() ?? new Map<string, Coordinate>();
  const out: DatacenterDistance[] = [{ datacenter: local, rttMs: 0 }];
  for (const [dc, names] of servers) {
    if (dc === local) continue;
    const up = links?.linkUp(dc) ?? null;
    if (up === false) continue;
    if (up === null && names.length === 0) continue;
    out.push({ datacenter: dc, rttMs: medianRtt(own, names.map((n) => coords.get(n) ?? null)) });
  }
  return out.sort((a, b) => {
    if (a.datacenter === local || b.datacenter === local) return a.datacenter === local ? -1 : 1;
    if (a.rttMs !== b.rttMs) return a.rttMs < b.rttMs ? -1 : 1;
    return a.datacenter < b.datacenter ? -1 : a.datacenter > b.datacenter ? 1 : 0;
  });
}

function medianRtt(own: Coordinate | null, theirs: (Coordinate | null)[]): number {
  if (!own) return Infinity;
  const rtts: number[] = [];
  for (const c of theirs) {
    if (!c) continue;
    try {
      rtts.push(coordinateDistance(own, c) * 1000);
    } catch {
      // A coordinate of another dimensionality tells nothing about distance.
    }
  }
  rtts.sort((a, b) => a - b);
  if (rtts.length === 0) return Infinity;
  return rtts[Math.floor((rtts.length - 1) / 2)]!;
}
