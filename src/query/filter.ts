/**
 * A query's instances in one datacenter (Consul's PreparedQuery.execute):
 * the service's (or its Connect endpoints') instances, without those a
 * critical check rules out (any non-passing one with OnlyPassing), then the
 * node-meta, service-meta and tag filters.
 */
import { type CheckServiceNode, catalogRead, connectRead, type Tables } from "../state/mod.ts";
import { HealthStatus } from "../structs/catalog.ts";

/** The parts of a service query that choose instances. */
export interface InstanceFilter {
  readonly Service: string;
  readonly OnlyPassing: boolean;
  readonly IgnoreCheckIDs: readonly string[] | null;
  readonly Tags: readonly string[] | null;
  readonly NodeMeta: Readonly<Record<string, string>> | null;
  readonly ServiceMeta: Readonly<Record<string, string>> | null;
  readonly Connect: boolean;
}

/** Consul's CheckServiceNodes.FilterIgnore. */
export function healthyOnly(nodes: readonly CheckServiceNode[], onlyPassing: boolean, ignore: readonly string[] | null): CheckServiceNode[] {
  const ignored = new Set(ignore ?? []);
  return nodes.filter((n) =>
    n.Checks.every((c) => {
      if (ignored.has(c.CheckID)) return true;
      if (c.Status === HealthStatus.Critical || c.Status === HealthStatus.Maintenance) return false;
      return !onlyPassing || c.Status === HealthStatus.Passing;
    }),
  );
}

function metaMatches(meta: Readonly<Record<string, string>> | undefined, want: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(want)) if (meta?.[k] !== v) return false;
  return true;
}

/** Consul's tagFilter: every listed tag present, no `!tag` present, case-insensitively. */
export function tagsMatch(have: readonly string[] | null | undefined, tags: readonly string[]): boolean {
  const index = new Set((have ?? []).map((t) => t.toLowerCase()));
  for (const raw of tags) {
    const tag = raw.toLowerCase();
    if (tag.startsWith("!") ? index.has(tag.slice(1)) : !index.has(tag)) return false;
  }
  return true;
}

/** The filter's instances in this datacenter's state, in catalog order (the caller shuffles or sorts). */
export function localInstances(t: Tables, f: InstanceFilter, forceConnect: boolean): { index: number; nodes: CheckServiceNode[] } {
  const read = f.Connect || forceConnect ? connectRead.connectCheckServiceNodes(t, f.Service) : catalogRead.checkServiceNodes(t, f.Service);
  let nodes = healthyOnly(read.value, f.OnlyPassing, f.IgnoreCheckIDs);
  const nodeMeta = f.NodeMeta;
  if (nodeMeta && Object.keys(nodeMeta).length > 0) nodes = nodes.filter((n) => metaMatches(n.Node.Meta, nodeMeta));
  const serviceMeta = f.ServiceMeta;
  if (serviceMeta && Object.keys(serviceMeta).length > 0) nodes = nodes.filter((n) => metaMatches(n.Service.Meta, serviceMeta));
  const tags = f.Tags;
  if (tags && tags.length > 0) nodes = nodes.filter((n) => tagsMatch(n.Service.Tags, tags));
  return { index: read.index, nodes };
}
