/**
 * Row keys grouped by a name (a node's services, a node's checks). Most nodes
 * carry a handful, and a Set of ten keys costs some 390 bytes where an array
 * of them costs ~180, so a group is an array until it holds SMALL keys and a
 * Set past that (a node carrying thousands of services still adds and
 * removes in O(1)). Order within a group is not kept: readers sort.
 */
const SMALL = 32;

export class KeyGroups {
  private readonly groups = new Map<string, string[] | Set<string>>();

  get(name: string): Iterable<string> | undefined {
    return this.groups.get(name);
  }

  has(name: string): boolean {
    return this.groups.has(name);
  }

  /** Names with at least one key. */
  get size(): number {
    return this.groups.size;
  }

  add(name: string, key: string): void {
    const g = this.groups.get(name);
    if (g === undefined) this.groups.set(name, [key]);
    else if (!Array.isArray(g)) g.add(key);
    else if (!g.includes(key)) {
      if (g.length < SMALL) g.push(key);
      else this.groups.set(name, new Set([...g, key]));
    }
  }

  remove(name: string, key: string): void {
    const g = this.groups.get(name);
    if (g === undefined) return;
    if (Array.isArray(g)) {
      const i = g.indexOf(key);
      if (i < 0) return;
      const last = g.pop()!;
      if (i < g.length) g[i] = last;
      if (g.length === 0) this.groups.delete(name);
    } else {
      g.delete(key);
      if (g.size === 0) this.groups.delete(name);
    }
  }
}
