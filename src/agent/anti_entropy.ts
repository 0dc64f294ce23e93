/**
 * Anti-entropy (Consul's agent/ae + local.State.SyncFull/SyncChanges) as an
 * explicit state machine over an injected clock:
 *
 *   fullSync ──ok──▶ partialSync ◀─┐ change notification: push what is out of sync
 *      ▲  │                        │
 *      │  └─error─▶ retryFullSync ─┘ (backoff, doubling up to a cap)
 *      └── full-sync timer (interval scaled by cluster size, plus stagger)
 *
 * A full sync reads the node's catalog entries, marks what differs from local
 * state (repairing drift made by others, removing what the agent no longer
 * has), then pushes. Nothing local is dropped while the servers are away.
 */
import type { CatalogRpc, NodeState } from "./catalog_rpc.ts";
import type { CheckDef, LocalState, ServiceDef } from "./local_state.ts";
import type { Logger } from "./logger.ts";
import type { Clock } from "../server/clock.ts";
import { SERF_CHECK_ID, type RegisterRequest, type ServiceAddress } from "../structs/catalog.ts";
import { Backoff } from "../util/mod.ts";

export type AeState = "fullSync" | "partialSync" | "retryFullSync" | "done";

export interface NodeIdentity {
  readonly node: string;
  readonly id: string;
  readonly address: string;
  readonly datacenter: string;
  readonly taggedAddresses: Record<string, string>;
  readonly meta: Record<string, string>;
}

export interface AntiEntropyOptions {
  readonly local: LocalState;
  readonly rpc: CatalogRpc;
  readonly identity: NodeIdentity;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Full-sync period before scaling (Consul's ae_interval, 1m). */
  readonly intervalMs?: number;
  readonly clusterSize?: () => number;
  /** First retry delay after a failure; doubles up to `retryMaxMs`. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

/** Service IDs and check IDs the agent must never remove from the catalog. */
const FOREIGN_SERVICES = new Set(["consul"]);
const FOREIGN_CHECKS = new Set([SERF_CHECK_ID]);

/** Consul's scaleFactor: 1 up to 128 nodes, then +1 per doubling. */
export function scaleFactor(nodes: number): number {
  if (nodes <= 128) return 1;
  return Math.ceil(Math.log2(nodes) - Math.log2(128) + 1);
}

/**
 * Tagged addresses under the reserved `consul-` prefix are the servers' (a
 * virtual IP, `consul-virtual`); the local definition takes them from the
 * catalog, as Consul's local state does, so they never count as drift.
 */
function adoptServerAddresses(local: ServiceDef, remote: Record<string, ServiceAddress> | undefined): void {
  const next: Record<string, ServiceAddress> = {};
  for (const [k, v] of Object.entries(local.TaggedAddresses ?? {})) if (!k.startsWith(RESERVED_PREFIX)) next[k] = v;
  for (const [k, v] of Object.entries(remote ?? {})) if (k.startsWith(RESERVED_PREFIX)) next[k] = v;
  local.TaggedAddresses = next;
}
const RESERVED_PREFIX = "consul-";

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x,
  );
}

function withoutIndexes<T extends object>(v: T): Omit<T, "CreateIndex" | "ModifyIndex" | "Node"> {
  const { CreateIndex: _c, ModifyIndex: _m, Node: _n, ...rest } = v as T & { CreateIndex?: number; ModifyIndex?: number; Node?: string };
  return rest;
}

type Wake = "timer" | "changes" | "full" | "shutdown";

export class AntiEntropy {
  state: AeState = "fullSync";
  /** Completed full syncs and failed attempts, for tests and metrics. */
  readonly stats = { fullSyncs: 0, partialSyncs: 0, failures: 0 };
  private readonly o: AntiEntropyOptions;
  /** The retry wait after a failed full sync: jittered by up to itself, as Consul's retryFullSync does. */
  private readonly retry: Backoff;
  private wake: ((w: Wake) => void) | null = null;
  /** Whether the current wait wakes for local changes (the retry wait does not). */
  private wakeOnChanges = true;
  private pending: Wake | null = null;
  private timer: unknown = null;
  private stopped = false;
  private running: Promise<void> | null = null;
  private unsubscribe: () => void = () => {};
  private settledWaiters: (() => void)[] = [];

  constructor(options: AntiEntropyOptions) {
    this.o = options;
    this.retry = new Backoff({ initialMs: options.retryMinMs ?? 1000, maxMs: options.retryMaxMs ?? 30_000, jitter: 1, random: () => this.o.random() });
  }

  start(): void {
    this.unsubscribe = this.o.local.onChange(() => this.notify("changes"));
    this.running = this.run();
  }

  /**
   * Resolves once the local changes made so far have been pushed, or a push
   * has failed (then the retry loop carries on). Consul's agent API handlers
   * sync before answering, so a client that registers a service and then
   * reads the catalog sees it.
   */
  settled(): Promise<void> {
    if (this.running === null || this.stopped || this.state === "retryFullSync" || this.state === "done") return Promise.resolve();
    // Idle with nothing to push: no wake-up will come.
    if (this.wake !== null && this.pending === null && this.o.local.allInSync()) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  private releaseSettled(): void {
    const waiters = this.settledWaiters;
    this.settledWaiters = [];
    for (const w of waiters) w();
  }

  /** Asks for a full sync now (e.g. after a reload). */
  syncFull(): void {
    this.notify("full");
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    this.notify("shutdown");
    await this.running;
  }

  private notify(w: Wake): void {
    // "full" and "shutdown" outrank a pending "changes".
    if (this.pending === null || w !== "changes") this.pending = w;
    const wake = this.wake;
    if (wake && (this.pending !== "changes" || this.wakeOnChanges)) {
      this.wake = null;
      this.clearTimer();
      const next = this.pending;
      this.pending = null;
      wake(next);
    }
  }

  private clearTimer(): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private waitFor(ms: number, wakeOnChanges = true): Promise<Wake> {
    this.wakeOnChanges = wakeOnChanges;
    if (this.pending === "changes" && !wakeOnChanges) this.pending = null;
    if (this.pending !== null) {
      const p = this.pending;
      this.pending = null;
      return Promise.resolve(p);
    }
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = this.o.clock.setTimeout(() => {
        this.timer = null;
        this.wake = null;
        resolve("timer");
      }, ms);
    });
  }

  private fullSyncDelay(): number {
    const interval = (this.o.intervalMs ?? 60_000) * scaleFactor(this.o.clusterSize?.() ?? 1);
    return interval + Math.floor(this.o.random() * interval);
  }

  private async run(): Promise<void> {
    let nextFull = 0;
    while (!this.stopped) {
      switch (this.state) {
        case "fullSync":
          try {
            await this.syncFullNow();
            this.retry.reset();
            this.state = "partialSync";
            nextFull = this.o.clock.now() + this.fullSyncDelay();
          } catch (err) {
            this.stats.failures++;
            this.o.logger.warn(`anti-entropy: failed to sync remote state: ${(err as Error).message}`);
            this.state = "retryFullSync";
            this.releaseSettled();
          }
          break;
        case "retryFullSync": {
          const delay = this.retry.next();
          // Local changes made meanwhile are covered by the full sync that follows.
          const w = await this.waitFor(delay, false);
          this.state = w === "shutdown" ? "done" : "fullSync";
          break;
        }
        case "partialSync": {
          const deferredDue = this.o.local.releaseDeferred();
          const untilFull = Math.max(0, nextFull - this.o.clock.now());
          const waitMs = deferredDue === null ? untilFull : Math.min(untilFull, Math.max(0, deferredDue - this.o.clock.now()));
          if (!this.o.local.allInSync()) {
            try {
              await this.syncChanges();
              this.stats.partialSyncs++;
            } catch (err) {
              this.stats.failures++;
              this.o.logger.warn(`anti-entropy: failed to sync changes: ${(err as Error).message}`);
              this.state = "retryFullSync";
              this.releaseSettled();
              break;
            }
            if (!this.o.local.allInSync()) break;
          }
          this.releaseSettled();
          const w = await this.waitFor(waitMs);
          if (w === "shutdown") this.state = "done";
          else if (w === "full" || (w === "timer" && this.o.clock.now() >= nextFull)) this.state = "fullSync";
          break;
        }
        case "done":
          this.releaseSettled();
          return;
      }
    }
    this.state = "done";
    this.releaseSettled();
  }

  /** Reads the catalog's view of this node and marks every difference. */
  async syncFullNow(): Promise<void> {
    const remote = await this.o.rpc.nodeState(this.o.identity.node);
    this.updateSyncState(remote);
    await this.syncChanges();
    this.stats.fullSyncs++;
  }

  private updateSyncState(remote: NodeState): void {
    const { local, identity: id } = this.o;
    const n = remote.node;
    local.nodeInSync =
      n !== null &&
      n.ID === id.id &&
      n.Address === id.address &&
      canonical(n.TaggedAddresses) === canonical(id.taggedAddresses) &&
      canonical(n.Meta) === canonical(id.meta);

    const remoteServices = new Map(remote.services.map((s) => [s.ID, s]));
    for (const [sid, ls] of local.services) if (!ls.deleted && !remoteServices.has(sid)) ls.inSync = false;
    for (const [sid, rs] of remoteServices) {
      const ls = local.services.get(sid);
      if (!ls) {
        if (!FOREIGN_SERVICES.has(sid)) local.services.set(sid, { service: withoutIndexes(rs) as ServiceDef, token: "", inSync: false, deleted: true });
        continue;
      }
      if (ls.deleted) continue;
      if (ls.service.EnableTagOverride) (ls.service as { Tags: string[] }).Tags = [...rs.Tags];
      adoptServerAddresses(ls.service, rs.TaggedAddresses);
      ls.inSync = canonical(ls.service) === canonical(withoutIndexes(rs));
    }

    const remoteChecks = new Map(remote.checks.map((c) => [c.CheckID, c]));
    for (const [cid, lc] of local.checks) if (!lc.deleted && !remoteChecks.has(cid)) lc.inSync = false;
    for (const [cid, rc] of remoteChecks) {
      const lc = local.checks.get(cid);
      if (!lc) {
        if (!FOREIGN_CHECKS.has(cid)) {
          local.checks.set(cid, { check: withoutIndexes(rc) as CheckDef, token: "", inSync: false, deleted: true, criticalSince: null, deferredUntil: null });
        }
        continue;
      }
      if (lc.deleted) continue;
      // A deferred output-only change counts as in sync until it is due.
      const remoteView = lc.deferredUntil !== null ? { ...withoutIndexes(rc), Output: lc.check.Output } : withoutIndexes(rc);
      lc.inSync = canonical(lc.check) === canonical(remoteView);
    }
  }

  private nodeRequest(): Omit<RegisterRequest, "Service" | "Checks" | "SkipNodeUpdate"> {
    const id = this.o.identity;
    return { ID: id.id, Node: id.node, Address: id.address, Datacenter: id.datacenter, TaggedAddresses: id.taggedAddresses, NodeMeta: id.meta };
  }

  /**
   * Pushes everything out of sync. An entry the server refuses does not hold
   * up the others: each is tried, and the first error is thrown at the end
   * (the failed entries stay out of sync for the retry).
   */
  async syncChanges(): Promise<void> {
    const { local, rpc, identity } = this.o;
    let firstError: unknown = null;
    // `done` is Consul's info line for a success ("Synced service: service=web").
    const attempt = async (what: string, done: string, push: () => Promise<void>): Promise<boolean> => {
      try {
        await push();
        this.o.logger.info(done);
        return true;
      } catch (err) {
        firstError ??= err;
        this.o.logger.debug(`anti-entropy: failed to sync ${what}: ${(err as Error).message}`);
        return false;
      }
    };
    for (const [sid, ls] of [...local.services]) {
      if (!ls.deleted) continue;
      await attempt(`removal of service ${JSON.stringify(sid)}`, `Deregistered service: service=${sid}`, async () => {
        await rpc.deregister({ Node: identity.node, ServiceID: sid, CheckID: "" });
        local.forgetService(sid);
        for (const [cid, lc] of [...local.checks]) if (lc.deleted && lc.check.ServiceID === sid) local.forgetCheck(cid);
      });
    }
    for (const [cid, lc] of [...local.checks]) {
      if (!lc.deleted) continue;
      await attempt(`removal of check ${JSON.stringify(cid)}`, `Deregistered check: check=${cid}`, async () => {
        await rpc.deregister({ Node: identity.node, ServiceID: "", CheckID: cid });
        local.forgetCheck(cid);
      });
    }
    if (!local.nodeInSync) {
      await rpc.register({ ...this.nodeRequest(), Service: null, Checks: [], SkipNodeUpdate: false });
      local.nodeInSync = true;
    }
    for (const ls of local.services.values()) {
      if (ls.deleted || ls.inSync) continue;
      const checks = [...local.checks.values()].filter((c) => !c.deleted && c.check.ServiceID === ls.service.ID);
      await attempt(`service ${JSON.stringify(ls.service.ID)}`, `Synced service: service=${ls.service.ID}`, async () => {
        await rpc.register({
          ...this.nodeRequest(),
          Service: ls.service,
          Checks: checks.map((c) => ({ ...c.check, Node: identity.node })),
          SkipNodeUpdate: true,
        });
        ls.inSync = true;
        for (const c of checks) if (c.deferredUntil === null) c.inSync = true;
      });
    }
    for (const lc of local.checks.values()) {
      if (lc.deleted || lc.inSync || lc.deferredUntil !== null) continue;
      await attempt(`check ${JSON.stringify(lc.check.CheckID)}`, `Synced check: check=${lc.check.CheckID}`, async () => {
        await rpc.register({ ...this.nodeRequest(), Service: null, Checks: [{ ...lc.check, Node: identity.node }], SkipNodeUpdate: true });
        lc.inSync = true;
      });
    }
    if (firstError !== null) throw firstError;
  }
}
