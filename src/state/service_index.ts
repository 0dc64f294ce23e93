/**
 * Per-service-name indexes kept as the catalog changes, so that a read costs
 * what its answer costs rather than what the catalog holds: the instance keys
 * of each name in (Node, ServiceID) order (built on first read after a change
 * of membership), the union of tags with their counts, and the healthy
 * instances (no critical check; and all passing) as sets that give a uniform
 * random draw in O(1).
 */
import type { HealthCheck } from "../structs/catalog.ts";

/** A set with O(1) add, delete and access by position (for random draws). */
export class DenseSet {
  private readonly items: string[] = [];
  private readonly pos = new Map<string, number>();

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.pos.has(key);
  }

  at(i: number): string {
    return this.items[i]!;
  }

  add(key: string): void {
    if (this.pos.has(key)) return;
    this.pos.set(key, this.items.length);
    this.items.push(key);
  }

  delete(key: string): void {
    const i = this.pos.get(key);
    if (i === undefined) return;
    const last = this.items.pop()!;
    this.pos.delete(key);
    if (i < this.items.length) {
      this.items[i] = last;
      this.pos.set(last, i);
    }
  }
}

/** How an instance's checks add up, for DNS: any critical check hides it; `passing` needs every check passing. */
export const InstanceHealth = { Passing: 2, NotCritical: 1, Critical: 0 } as const;
export type InstanceHealth = (typeof InstanceHealth)[keyof typeof InstanceHealth];

export function instanceHealth(checks: Iterable<HealthCheck>, serviceId: string): InstanceHealth {
  let worst: InstanceHealth = InstanceHealth.Passing;
  for (const c of checks) {
    if (c.ServiceID !== "" && c.ServiceID !== serviceId) continue;
    if (c.Status === "critical") return InstanceHealth.Critical;
    if (c.Status !== "passing") worst = InstanceHealth.NotCritical;
  }
  return worst;
}

/** The healthy instances of one service name (row keys). */
export interface HealthySets {
  /** Instances without a critical check. */
  readonly notCritical: DenseSet;
  /** Instances whose every check passes. */
  readonly passing: DenseSet;
}

interface NameEntry {
  /** Row keys of every instance. */
  readonly keys: Set<string>;
  /** `keys` in (Node, ServiceID) order; null after a membership change until the next read. */
  sorted: string[] | null;
  /** Tag -> how many instances carry it, in first-seen order. */
  readonly tags: Map<string, number>;
  readonly healthy: HealthySets;
}

/** Row keys are `node\u0000id`, so plain string order is (Node, ServiceID) order. */
const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

export class ServiceNameIndex {
  private readonly names = new Map<string, NameEntry>();

  /** The names with at least one instance, in insertion order. */
  keys(): IterableIterator<string> {
    return this.names.keys();
  }

  has(name: string): boolean {
    return this.names.has(name);
  }

  get size(): number {
    return this.names.size;
  }

  /** Instance row keys in (Node, ServiceID) order. */
  sortedKeys(name: string): readonly string[] {
    const e = this.names.get(name);
    if (!e) return [];
    if (e.sorted === null) e.sorted = [...e.keys].sort(byKey);
    return e.sorted;
  }

  /** Tags of the name's instances (each once). */
  tags(name: string): string[] {
    const e = this.names.get(name);
    return e ? [...e.tags.keys()] : [];
  }

  healthy(name: string): HealthySets | null {
    return this.names.get(name)?.healthy ?? null;
  }

  add(name: string, key: string, tags: readonly string[] | null | undefined): void {
    let e = this.names.get(name);
    if (!e) this.names.set(name, (e = { keys: new Set(), sorted: null, tags: new Map(), healthy: { notCritical: new DenseSet(), passing: new DenseSet() } }));
    if (!e.keys.has(key)) {
      e.keys.add(key);
      e.sorted = null;
    }
    for (const tag of tags ?? []) e.tags.set(tag, (e.tags.get(tag) ?? 0) + 1);
  }

  remove(name: string, key: string, tags: readonly string[] | null | undefined): void {
    const e = this.names.get(name);
    if (!e) return;
    for (const tag of tags ?? []) {
      const n = (e.tags.get(tag) ?? 0) - 1;
      if (n > 0) e.tags.set(tag, n);
      else e.tags.delete(tag);
    }
    if (e.keys.delete(key)) e.sorted = null;
    e.healthy.notCritical.delete(key);
    e.healthy.passing.delete(key);
    if (e.keys.size === 0) this.names.delete(name);
  }

  /** Files the instance `key` of `name` under its current health. */
  setHealth(name: string, key: string, health: InstanceHealth): void {
    const e = this.names.get(name);
    if (!e || !e.keys.has(key)) return;
    if (health === InstanceHealth.Critical) e.healthy.notCritical.delete(key);
    else e.healthy.notCritical.add(key);
    if (health === InstanceHealth.Passing) e.healthy.passing.add(key);
    else e.healthy.passing.delete(key);
  }
}
