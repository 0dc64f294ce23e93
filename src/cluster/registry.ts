/**
 * The servers of a datacenter, as Consul's Raft configuration lists them: each
 * server writes its own record into the cluster's KV bucket when it starts and
 * deletes it when it leaves gracefully; a server that dies stays listed (like a
 * Raft peer) until an operator removes it. Every server watches the records,
 * so `list()` answers from memory.
 */
import type { KV, KvWatchEntry } from "@nats-io/kv";
import type { QueuedIterator } from "@nats-io/transport-node";
import { whileTransient } from "../log/jetstream_resources.ts";

export interface ServerRecord {
  /** Node ID. */
  readonly ID: string;
  readonly Node: string;
  /** "ip:port" of the server RPC address. */
  readonly Address: string;
  readonly Datacenter: string;
  readonly Version: string;
}

const PREFIX = "server.";

export class ServerRegistry {
  readonly #kv: KV;
  readonly #servers = new Map<string, ServerRecord>();
  #watch: QueuedIterator<KvWatchEntry> | null = null;
  #self: ServerRecord | null = null;
  #ready: Promise<void> | null = null;

  constructor(kv: KV) {
    this.#kv = kv;
  }

  /** Writes this server's record and starts following everyone's. */
  async start(self: ServerRecord): Promise<void> {
    this.#self = self;
    this.#servers.set(self.ID, self);
    // A bucket just created may not have a stream leader yet.
    const deadline = Date.now() + 30_000;
    await whileTransient(deadline, () => this.#kv.put(PREFIX + self.ID, new TextEncoder().encode(JSON.stringify(self))));
    const watch = await whileTransient(deadline, () => this.#kv.watch({ key: `${PREFIX}>` }));
    this.#watch = watch;
    let markReady: () => void = () => {};
    this.#ready = new Promise((r) => (markReady = r));
    void (async () => {
      for await (const e of watch) {
        const id = e.key.slice(PREFIX.length);
        if (e.operation === "PUT") {
          const rec = parseRecord(e.value);
          if (rec) this.#servers.set(id, rec);
        } else {
          this.#servers.delete(id);
        }
        if (!e.isUpdate || e.delta === 0) markReady();
      }
    })().catch(() => undefined);
    // An empty history never yields; the own record above guarantees one entry.
    await Promise.race([this.#ready, new Promise((r) => setTimeout(r, 2_000))]);
    // A server that comes back with a new ID (its data dir was wiped) replaces
    // its old record, as Consul's leader drops a peer whose address rejoins.
    for (const r of this.list()) {
      if (r.ID !== self.ID && (r.Node === self.Node || r.Address === self.Address)) await this.remove({ id: r.ID }).catch(() => false);
    }
  }

  list(): ServerRecord[] {
    return [...this.#servers.values()].sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
  }

  size(): number {
    return this.#servers.size;
  }

  /** Removes a record by node ID or by address; false when none matched. */
  async remove(by: { readonly id?: string; readonly address?: string }): Promise<boolean> {
    const rec = this.list().find((r) => (by.id !== undefined && r.ID === by.id) || (by.address !== undefined && r.Address === by.address));
    if (!rec) return false;
    await this.#kv.delete(PREFIX + rec.ID);
    this.#servers.delete(rec.ID);
    return true;
  }

  /** Stops following; with `leave`, deletes this server's record first. */
  async stop(leave: boolean): Promise<void> {
    if (leave && this.#self) await this.#kv.delete(PREFIX + this.#self.ID).catch(() => undefined);
    this.#watch?.stop();
    this.#watch = null;
  }
}

function parseRecord(value: Uint8Array): ServerRecord | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(value)) as Partial<ServerRecord>;
    if (typeof v.ID === "string" && typeof v.Node === "string" && typeof v.Address === "string") {
      return { ID: v.ID, Node: v.Node, Address: v.Address, Datacenter: v.Datacenter ?? "", Version: v.Version ?? "" };
    }
  } catch {
    // Ignore what is not a server record.
  }
  return null;
}
