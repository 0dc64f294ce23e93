/**
 * Config entry replication from the primary datacenter (Consul's
 * replicateConfig): the leader of a secondary keeps a blocking
 * `ConfigEntry.List` open on the primary, resuming from the last index it
 * replicated, and when the primary's entries change it writes the
 * difference into its own log (deletes, then upserts), so the secondary's
 * servers answer from their replica, and keep doing so while the primary is
 * unreachable. Intentions are `service-intentions` entries: they travel the
 * same way.
 *
 * Each round diffs the primary's whole list against the local one (Consul
 * does the same for config entries); only changed entries are written, and a
 * round starts only when the primary's index passed the last replicated one.
 */
import { deepEqual } from "../src/state/equal.ts";
import { MessageType } from "../src/state/mod.ts";
import type { StoredConfigEntry } from "../src/configentry/registry.ts";
import type { Rpc } from "../src/rpc/types.ts";
import type { Server } from "../src/server/server.ts";
import { ReplicationLoop, type ReplicationLog } from "../src/server/replication_loop.ts";

/** Longest blocking wait on the primary per round (ms). */
const WAIT_MS = 60_000;

/** The replication status as `/v1/operator/replication` shows it (the fields of Consul's ACL replication status). */
export interface ReplicationStatus {
  readonly Enabled: boolean;
  readonly Running: boolean;
  readonly SourceDatacenter: string;
  readonly ReplicationType: "config-entries";
  /** The primary's config index this replica has applied. */
  readonly ReplicatedIndex: number;
  /** Rounds that wrote something, and entries written (upserts + deletes). */
  readonly Rounds: number;
  readonly EntriesWritten: number;
  readonly LastSuccess: string;
  readonly LastError: string;
  readonly LastErrorMessage: string;
  /** Milliseconds since the replica was last known to match the primary (0 while in contact). */
  readonly LagMs: number;
}

const ZERO_TIME = "0001-01-01T00:00:00Z";

export interface ReplicatorOptions {
  readonly server: Server;
  /** Calls the primary (the federation's RPC). */
  readonly rpc: Rpc;
  readonly primary: () => string;
  readonly log?: ReplicationLog;
}

export class ConfigReplicator extends ReplicationLoop {
  private readonly o: ReplicatorOptions;
  private replicatedIndex = 0;
  private rounds = 0;
  private written = 0;
  private lastSuccess = 0;
  private lastError = 0;
  private lastErrorMessage = "";
  /** When the replica was last known current (the primary answered and we applied it). */
  private currentAt = 0;
  private inContact = false;

  constructor(o: ReplicatorOptions) {
    super("replication: round", o.log);
    this.o = o;
  }

  /** Forgets the replicated index, so the next round compares everything (after a promotion or restore). */
  reset(): void {
    this.replicatedIndex = 0;
    this.interrupt();
  }

  status(): ReplicationStatus {
    const now = Date.now();
    const iso = (t: number) => (t === 0 ? ZERO_TIME : new Date(t).toISOString());
    return {
      Enabled: this.o.primary() !== this.o.server.config.datacenter,
      Running: this.running,
      SourceDatacenter: this.o.primary(),
      ReplicationType: "config-entries",
      ReplicatedIndex: this.replicatedIndex,
      Rounds: this.rounds,
      EntriesWritten: this.written,
      LastSuccess: iso(this.lastSuccess),
      LastError: iso(this.lastError),
      LastErrorMessage: this.lastErrorMessage,
      LagMs: this.inContact || this.currentAt === 0 ? 0 : now - this.currentAt,
    };
  }

  protected source(): string | null {
    const primary = this.o.primary();
    // We are the primary (maybe promoted): nothing to replicate; look again later.
    return primary === this.o.server.config.datacenter ? null : primary;
  }

  protected async replicate(primary: string, signal: AbortSignal): Promise<void> {
    const reply = await this.o.rpc.call(
      "ConfigEntry.List",
      { Kind: "" },
      // An index of 0 (no entry ever written) must still block: a list at index 0 answers at once.
      { datacenter: primary, minIndex: this.rounds === 0 ? 0 : Math.max(1, this.replicatedIndex), waitMs: WAIT_MS, consistency: "default", maxStaleMs: 0, signal },
    );
    if (!this.running) return;
    // An index that went back means the primary's state was replaced (restore, new primary): compare everything.
    if (reply.index < this.replicatedIndex) this.replicatedIndex = 0;
    if (reply.index !== this.replicatedIndex || this.rounds === 0) {
      const n = await this.applyDiff(reply.value);
      if (n > 0) this.o.log?.("info", `replication: wrote ${n} config entries from ${primary} (index ${reply.index})`);
      this.written += n;
      this.rounds++;
    }
    this.replicatedIndex = reply.index;
    this.lastSuccess = Date.now();
    this.currentAt = this.lastSuccess;
    this.inContact = true;
  }

  protected failed(message: string): void {
    if (this.inContact) this.currentAt = Date.now();
    this.inContact = false;
    this.lastError = Date.now();
    this.lastErrorMessage = message;
  }

  /** Writes what differs from `remote` into the local log; returns the number of writes. */
  private async applyDiff(remote: readonly StoredConfigEntry[]): Promise<number> {
    const s = this.o.server;
    const key = (kind: string, name: string) => `${kind}\u0000${name}`;
    const wanted = new Map(remote.map((r) => [key(r.Kind, r.Name), r]));
    let n = 0;
    // Deletes first, dependents (routers, splitters) before what they point at, as Consul orders them.
    const local = [...s.state.t.configEntries.values()];
    const stale = local.filter((r) => !wanted.has(key(r.Kind, r.Name))).sort((a, b) => kindOrder(b.Kind) - kindOrder(a.Kind));
    for (const r of stale) {
      await s.mustWrite({ Type: MessageType.ConfigEntry, Now: s.clock.now(), Op: "delete", Entry: { Kind: r.Kind, Name: r.Name } });
      n++;
    }
    const changed = remote.filter((r) => !deepEqual(s.state.t.configEntries.get(key(r.Kind, r.Name))?.Entry, r.Entry)).sort((a, b) => kindOrder(a.Kind) - kindOrder(b.Kind));
    for (const r of changed) {
      await s.mustWrite({ Type: MessageType.ConfigEntry, Now: s.clock.now(), Op: "upsert", Entry: r.Entry });
      n++;
    }
    return n;
  }
}

/** Entries others depend on come first when writing, last when deleting. */
function kindOrder(kind: string): number {
  switch (kind) {
    case "proxy-defaults":
    case "mesh":
      return 0;
    case "service-defaults":
      return 1;
    case "service-resolver":
      return 2;
    case "service-splitter":
      return 3;
    case "service-router":
      return 4;
    default:
      return 5;
  }
}
