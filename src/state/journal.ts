/**
 * Undo log for one `apply`: every table change records how to reverse it, so a
 * failed transaction (or a command that throws half-way) leaves the store as it
 * was. Topics touched are collected and only fired on commit.
 */
export class Journal {
  private readonly undo: (() => void)[] = [];
  readonly topics = new Set<string>();
  readonly changedKeys = new Set<string>();

  record(reverse: () => void): void {
    this.undo.push(reverse);
  }

  rollback(): void {
    for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
    this.undo.length = 0;
    this.topics.clear();
    this.changedKeys.clear();
  }
}

/** Holder of the journal of the apply in progress (none outside apply and restore). */
export interface JournalRef {
  current: Journal | null;
}

export type ChangeHook<K, V> = (key: K, before: V | undefined, after: V | undefined) => void;

/**
 * A Map whose writes are journaled and observed by secondary-index hooks. Reads
 * are plain Map reads.
 */
export class TrackedMap<K, V> {
  private readonly map = new Map<K, V>();
  private readonly hooks: ChangeHook<K, V>[] = [];
  private readonly ref: JournalRef;

  constructor(ref: JournalRef) {
    this.ref = ref;
  }

  onChange(hook: ChangeHook<K, V>): void {
    this.hooks.push(hook);
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  entries(): IterableIterator<[K, V]> {
    return this.map.entries();
  }

  keys(): IterableIterator<K> {
    return this.map.keys();
  }

  set(key: K, value: V): void {
    const had = this.map.has(key);
    const before = this.map.get(key);
    this.write(key, before, value);
    this.ref.current?.record(() => (had ? this.write(key, value, before) : this.write(key, value, undefined)));
  }

  delete(key: K): boolean {
    if (!this.map.has(key)) return false;
    const before = this.map.get(key) as V;
    this.write(key, before, undefined);
    this.ref.current?.record(() => this.write(key, undefined, before));
    return true;
  }

  /** Replaces everything without journaling (restore). */
  reset(entries: Iterable<[K, V]>): void {
    for (const [k, v] of [...this.map.entries()]) this.write(k, v, undefined);
    for (const [k, v] of entries) this.write(k, undefined, v);
  }

  private write(key: K, before: V | undefined, after: V | undefined): void {
    if (after === undefined) this.map.delete(key);
    else this.map.set(key, after);
    for (const hook of this.hooks) hook(key, before, after);
  }
}
