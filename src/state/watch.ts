/**
 * Watch topics for blocking queries. Every watcher of one topic awaits the
 * same promise, so a write resolves one promise per changed topic however many
 * requests are parked on it; a topic costs nothing until someone watches it.
 */
interface Pending {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

export class WatchHub {
  private readonly pending = new Map<string, Pending>();

  /** Resolves on the next `fire(topic)`. */
  wait(topic: string): Promise<void> {
    let p = this.pending.get(topic);
    if (!p) {
      let resolve: () => void = () => {};
      const promise = new Promise<void>((r) => (resolve = r));
      p = { promise, resolve };
      this.pending.set(topic, p);
    }
    return p.promise;
  }

  fire(topic: string): void {
    const p = this.pending.get(topic);
    if (p) {
      this.pending.delete(topic);
      p.resolve();
    }
  }

  /** Fires the topic of a changed KV key and of every prefix being watched above it. */
  fireKey(key: string): void {
    if (this.pending.size === 0) return;
    this.fire(kvKeyTopic(key));
    for (let i = 0; i <= key.length; i++) {
      const topic = kvPrefixTopic(key.slice(0, i));
      if (this.pending.has(topic)) this.fire(topic);
    }
  }

  /** Wakes every watcher (after a restore replaced all state). */
  fireAll(): void {
    for (const topic of [...this.pending.keys()]) this.fire(topic);
  }

  get watchedTopics(): number {
    return this.pending.size;
  }
}

export const kvKeyTopic = (key: string): string => `kv:${key}`;
export const kvPrefixTopic = (prefix: string): string => `kvp:${prefix}`;
export const serviceTopic = (name: string): string => `svc:${name}`;
export const nodeTopic = (name: string): string => `node:${name}`;
/** One session's topic: `/v1/session/info/:id` blocks on it alone, as Consul watches the one row. */
export const sessionTopic = (id: string): string => `sess:${id}`;
export const Topic = {
  Nodes: "nodes",
  Services: "services",
  Checks: "checks",
  Sessions: "sessions",
  CARoots: "connect-ca-roots",
  CAConfig: "connect-ca-config",
} as const;
