/**
 * Per-service-name indexes kept as the catalog changes, so that a read costs
 * what its answer costs rather than what the catalog holds: the instance keys
 * of each name in (Node, ServiceID) order (built on first read after a change
 * of membership), the union of tags with their counts, and the healthy
 * instances (no critical check; and all passing) as sets that give a uniform
 * random draw in O(1).
 */
import type { HealthCheck } from "../structs/catalog.ts";

/** A view of the first `size` members of a partition: O(1) size, membership and access by position (for random draws). */
export interface DenseSet {
  readonly size: number;
  has(key: string): boolean;
  at(i: number): string;
}

/**
 * The instances of one service name in one array partitioned by health,
 * `[passing | warning | critical]`, with each key's slot in one map: the
 * healthy sets are prefixes of the array (views, no copies), so an instance
 * costs one array slot and one map entry whatever its health, and moving it
 * between partitions is at most two swaps.
 */
export class HealthPartition {
  private readonly items: string[] = [];
  private readonly pos = new Map<string, number>();
  /** items[0, passingEnd) pass every check; items[0, healthyEnd) have no critical one. */
  private passingEnd = 0;
  private healthyEnd = 0;
  /** Instances whose every check passes. */
  readonly passing: DenseSet;
  /** Instances without a critical check. */
  readonly notCritical: DenseSet;

  constructor() {
    const view = (end: () => number): DenseSet => ({
      get size() {
        return end();
      },
      has: (key) => (this.pos.get(key) ?? Infinity) < end(),
      at: (i) => this.items[i]!,
    });
    this.passing = view(() => this.passingEnd);
    this.notCritical = view(() => this.healthyEnd);
  }

  get size(): number {
    return this.items.length;
  }

  has(key: string): boolean {
    return this.pos.has(key);
  }

  keys(): IterableIterator<string> {
    return this.pos.keys();
  }

  /** The member's health (Critical for a key that is not a member). */
  health(key: string): InstanceHealth {
    const i = this.pos.get(key);
    if (i === undefined || i >= this.healthyEnd) return InstanceHealth.Critical;
    return i < this.passingEnd ? InstanceHealth.Passing : InstanceHealth.NotCritical;
  }

  /** Adds `key` as critical (its checks are filed next); false when it is a member already. */
  add(key: string): boolean {
    if (this.pos.has(key)) return false;
    this.pos.set(key, this.items.length);
    this.items.push(key);
    return true;
  }

  delete(key: string): boolean {
    if (!this.pos.has(key)) return false;
    this.setHealth(key, InstanceHealth.Critical);
    const i = this.pos.get(key)!;
    const last = this.items.pop()!;
    this.pos.delete(key);
    if (i < this.items.length) this.place(last, i);
    return true;
  }

  setHealth(key: string, health: InstanceHealth): void {
    let now: number = this.health(key);
    if (!this.pos.has(key)) return;
    // One boundary at a time: each step swaps the key with the member at the boundary it crosses.
    while (now < health) {
      if (now === InstanceHealth.Critical) this.swap(key, this.healthyEnd++);
      else this.swap(key, this.passingEnd++);
      now++;
    }
    while (now > health) {
      if (now === InstanceHealth.Passing) this.swap(key, --this.passingEnd);
      else this.swap(key, --this.healthyEnd);
      now--;
    }
  }

  private swap(key: string, j: number): void {
    const i = this.pos.get(key)!;
    if (i === j) return;
    this.place(this.items[j]!, i);
    this.place(key, j);
  }

  private place(key: string, i: number): void {
    this.items[i] = key;
    this.pos.set(key, i);
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
export type HealthySets = Pick<HealthPartition, "notCritical" | "passing">;

interface NameEntry {
  /** Row keys of every instance, by health. */
  readonly keys: HealthPartition;
  /** `keys` in (Node, ServiceID) order; null after a membership change until the next read. */
  sorted: string[] | null;
  /** Tag -> how many instances carry it, in first-seen order. */
  readonly tags: Map<string, number>;
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
    if (e.sorted === null) e.sorted = [...e.keys.keys()].sort(byKey);
    return e.sorted;
  }

  /** Tags of the name's instances (each once). */
  tags(name: string): string[] {
    const e = this.names.get(name);
    return e ? [...e.tags.keys()] : [];
  }

  healthy(name: string): HealthySets | null {
    return this.names.get(name)?.keys ?? null;
  }

  add(name: string, key: string, tags: readonly string[] | null | undefined): void {
    let e = this.names.get(name);
    if (!e) this.names.set(name, (e = { keys: new HealthPartition(), sorted: null, tags: new Map() }));
    if (e.keys.add(key)) e.sorted = null;
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
    if (e.keys.size === 0) this.names.delete(name);
  }

  /** Files the instance `key` of `name` under its current health. */
  setHealth(name: string, key: string, health: InstanceHealth): void {
    this.names.get(name)?.keys.setHealth(key, health);
  }
}
