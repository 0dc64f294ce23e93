/**
 * A counting semaphore under a KV prefix: the algorithm of Consul's Go
 * `api.Semaphore`, so Consulate and Go contenders share slots.
 *
 * Each contender writes `<prefix>/<session>` acquired by its own session
 * (sessions use Behavior "delete", so a dead contender's key disappears).
 * `<prefix>/.lock` holds `{"Limit": n, "Holders": {session: true}}` and is
 * updated with check-and-set; holders whose contender key is gone are pruned.
 */
import type { Client } from "./client.ts";
import { parseDuration } from "./duration.ts";
import { ApiError, LockError } from "./errors.ts";
import { joinPath } from "./gopath.ts";
import type { KV, KVPair, KVPairInput } from "./kv.ts";
import { Mutex } from "./mutex.ts";
import { anySignal, sleep } from "./sleep.ts";
import { DEFAULT_MONITOR_RETRY_TIME, MONITOR_WAIT_TIME } from "./lock.ts";

export const DEFAULT_SEMAPHORE_SESSION_NAME = "Consul API Semaphore";
export const DEFAULT_SEMAPHORE_SESSION_TTL = "15s";
export const DEFAULT_SEMAPHORE_WAIT_TIME = 15_000;
/** The coordination key inside the prefix. */
export const DEFAULT_SEMAPHORE_KEY = ".lock";
/** 0xe0f69a2baa414de0: marks keys as semaphore keys (a lock uses another value). */
export const SEMAPHORE_FLAG_VALUE = 0xe0f69a2baa414de0n;

export interface SemaphoreOptions {
  readonly prefix: string;
  /** Number of holders allowed at once; every contender must agree on it. */
  readonly limit: number;
  readonly value?: Uint8Array | string;
  readonly session?: string;
  readonly sessionName?: string;
  readonly sessionTTL?: string;
  readonly monitorRetries?: number;
  readonly monitorRetryTime?: number;
  readonly semaphoreWaitTime?: number;
  readonly semaphoreTryOnce?: boolean;
}

interface SemaphoreLock {
  Limit: number;
  Holders: Record<string, boolean>;
}

export class Semaphore {
  private readonly kv: KV;
  private readonly opts: Required<Omit<SemaphoreOptions, "value" | "session">> & Pick<SemaphoreOptions, "value" | "session">;
  private readonly mutex = new Mutex();
  private held = false;
  private lockSession = "";
  private renewController: AbortController | null = null;
  private renewDone: Promise<void> = Promise.resolve();
  private monitorController: AbortController | null = null;
  private monitorDone: Promise<void> = Promise.resolve();

  private readonly c: Client;

  constructor(c: Client, options: SemaphoreOptions) {
    this.c = c;
    if (options.prefix === "") throw new LockError("failed", "missing prefix");
    if (!(options.limit > 0)) throw new LockError("failed", "semaphore limit must be positive");
    const sessionTTL = options.sessionTTL || DEFAULT_SEMAPHORE_SESSION_TTL;
    try {
      parseDuration(sessionTTL);
    } catch (err) {
      throw new LockError("failed", `invalid SessionTTL: ${(err as Error).message}`, { cause: err });
    }
    this.kv = c.kv();
    this.opts = {
      prefix: options.prefix,
      limit: options.limit,
      value: options.value,
      session: options.session,
      sessionName: options.sessionName || DEFAULT_SEMAPHORE_SESSION_NAME,
      sessionTTL,
      monitorRetries: options.monitorRetries ?? 0,
      monitorRetryTime: options.monitorRetryTime || DEFAULT_MONITOR_RETRY_TIME,
      semaphoreWaitTime: options.semaphoreWaitTime || DEFAULT_SEMAPHORE_WAIT_TIME,
      semaphoreTryOnce: options.semaphoreTryOnce ?? false,
    };
  }

  get isHeld(): boolean {
    return this.held;
  }

  /**
   * Blocks until a slot is ours. Resolves to a signal that aborts when the
   * slot is lost (or released), or `null` when `stop` aborted or a one-shot
   * attempt timed out.
   */
  acquire(stop?: AbortSignal): Promise<AbortSignal | null> {
    return this.mutex.run(() => this.acquireLocked(stop));
  }

  private async acquireLocked(stop?: AbortSignal): Promise<AbortSignal | null> {
    if (this.held) throw new LockError("held", "Semaphore already held");
    this.lockSession = this.opts.session ?? "";
    let ownRenew: AbortController | null = null;
    if (this.lockSession === "") {
      try {
        this.lockSession = await this.c
          .session()
          .create({ Name: this.opts.sessionName, TTL: this.opts.sessionTTL, Behavior: "delete" });
      } catch (err) {
        throw new LockError("failed", `failed to create session: ${(err as Error).message}`, { cause: err });
      }
      ownRenew = new AbortController();
      this.renewController = ownRenew;
      this.renewDone = this.c
        .session()
        .renewPeriodic(this.opts.sessionTTL, this.lockSession, { signal: ownRenew.signal })
        .catch(() => undefined);
    }
    try {
      let made: boolean;
      try {
        made = await this.kv.acquire(this.contenderEntry(this.lockSession));
      } catch (err) {
        throw new LockError("failed", `failed to make contender entry: ${(err as Error).message}`, { cause: err });
      }
      if (!made) throw new LockError("failed", "failed to make contender entry: acquire refused");
      if (!(await this.waitForSlot(stop))) return null;
      this.held = true;
      const lost = new AbortController();
      const monitor = new AbortController();
      this.monitorController = monitor;
      this.monitorDone = this.monitorLock(this.lockSession, monitor.signal).finally(() => lost.abort());
      return lost.signal;
    } finally {
      if (!this.held && ownRenew) {
        ownRenew.abort();
        await this.renewDone;
        this.renewController = null;
      }
    }
  }

  private async waitForSlot(stop?: AbortSignal): Promise<boolean> {
    const started = performance.now();
    let attempts = 0;
    let index = 0;
    for (;;) {
      if (stop?.aborted) return false;
      let wait = this.opts.semaphoreWaitTime;
      if (this.opts.semaphoreTryOnce && attempts > 0) {
        const elapsed = performance.now() - started;
        if (elapsed > this.opts.semaphoreWaitTime) return false;
        wait = this.opts.semaphoreWaitTime - elapsed;
      }
      attempts++;
      const combined = anySignal([stop]);
      let pairs: KVPair[];
      let lastIndex: number;
      try {
        [pairs, { lastIndex }] = await this.kv.list(this.opts.prefix, { wait, index, signal: combined.signal });
      } catch (err) {
        if (stop?.aborted) return false;
        throw new LockError("failed", `failed to read prefix: ${(err as Error).message}`, { cause: err });
      } finally {
        combined.dispose();
      }
      const lockPair = this.findLock(pairs);
      if (lockPair.Flags !== SEMAPHORE_FLAG_VALUE) {
        throw new LockError("conflict", "Existing key does not match semaphore use");
      }
      const lock = this.decodeLock(lockPair);
      if (lock.Limit !== this.opts.limit) {
        throw new LockError("conflict", `semaphore limit conflict (lock: ${lock.Limit}, local: ${this.opts.limit})`);
      }
      pruneDeadHolders(lock, pairs);
      if (Object.keys(lock.Holders).length >= lock.Limit) {
        index = lastIndex;
        continue;
      }
      lock.Holders[this.lockSession] = true;
      let didSet: boolean;
      try {
        didSet = await this.kv.cas(this.encodeLock(lock, lockPair.ModifyIndex));
      } catch (err) {
        throw new LockError("failed", `failed to update lock: ${(err as Error).message}`, { cause: err });
      }
      if (didSet) return true;
      // Lost a race with another contender: read again right away.
      index = 0;
    }
  }

  /** Gives the slot back and removes our contender key. */
  release(): Promise<void> {
    return this.mutex.run(async () => {
      if (!this.held) throw new LockError("not-held", "Semaphore not held");
      this.held = false;
      const session = this.lockSession;
      this.lockSession = "";
      this.monitorController?.abort();
      await this.monitorDone;
      this.monitorController = null;
      try {
        const key = joinPath(this.opts.prefix, DEFAULT_SEMAPHORE_KEY);
        for (;;) {
          const [pair] = await this.kv.get(key);
          const current = pair ?? emptyPair();
          const lock = this.decodeLock(current);
          if (!(session in lock.Holders)) break;
          delete lock.Holders[session];
          if (await this.kv.cas(this.encodeLock(lock, current.ModifyIndex))) break;
        }
        await this.kv.delete(joinPath(this.opts.prefix, session));
      } catch (err) {
        if (err instanceof LockError) throw err;
        throw new LockError("failed", `failed to update lock: ${(err as Error).message}`, { cause: err });
      } finally {
        if (this.renewController) {
          this.renewController.abort();
          await this.renewDone;
          this.renewController = null;
        }
      }
    });
  }

  /** Deletes the coordination key when no live holder remains; `in-use` otherwise. */
  destroy(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.held) throw new LockError("held", "Semaphore already held");
      let pairs: KVPair[];
      try {
        [pairs] = await this.kv.list(this.opts.prefix);
      } catch (err) {
        throw new LockError("failed", `failed to read prefix: ${(err as Error).message}`, { cause: err });
      }
      const lockPair = this.findLock(pairs);
      if (lockPair.ModifyIndex === 0) return;
      if (lockPair.Flags !== SEMAPHORE_FLAG_VALUE) {
        throw new LockError("conflict", "Existing key does not match semaphore use");
      }
      const lock = this.decodeLock(lockPair);
      pruneDeadHolders(lock, pairs);
      if (Object.keys(lock.Holders).length > 0) throw new LockError("in-use", "Semaphore in use");
      let removed: boolean;
      try {
        removed = await this.kv.deleteCAS(lockPair);
      } catch (err) {
        throw new LockError("failed", `failed to remove semaphore: ${(err as Error).message}`, { cause: err });
      }
      if (!removed) throw new LockError("in-use", "Semaphore in use");
    });
  }

  private contenderEntry(session: string): KVPairInput {
    const e: KVPairInput = { Key: joinPath(this.opts.prefix, session), Session: session, Flags: SEMAPHORE_FLAG_VALUE };
    if (this.opts.value !== undefined) e.Value = this.opts.value;
    return e;
  }

  private findLock(pairs: KVPair[]): KVPair {
    const key = joinPath(this.opts.prefix, DEFAULT_SEMAPHORE_KEY);
    return pairs.find((p) => p.Key === key) ?? emptyPair();
  }

  private decodeLock(pair: KVPair): SemaphoreLock {
    if (pair.Value === null) return { Limit: this.opts.limit, Holders: {} };
    try {
      const raw = JSON.parse(new TextDecoder().decode(pair.Value)) as { Limit?: unknown; Holders?: unknown };
      const holders: Record<string, boolean> = {};
      if (raw.Holders && typeof raw.Holders === "object") {
        for (const [k, v] of Object.entries(raw.Holders as Record<string, unknown>)) holders[k] = v === true;
      }
      return { Limit: Number(raw.Limit ?? 0), Holders: holders };
    } catch (err) {
      throw new LockError("failed", `lock decoding failed: ${(err as Error).message}`, { cause: err });
    }
  }

  private encodeLock(lock: SemaphoreLock, oldIndex: number): KVPairInput {
    return {
      Key: joinPath(this.opts.prefix, DEFAULT_SEMAPHORE_KEY),
      // Go marshals map keys sorted; keep byte-identical values for mixed Go/TS contenders.
      Value: JSON.stringify({ Limit: lock.Limit, Holders: Object.fromEntries(Object.entries(lock.Holders).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) }),
      Flags: SEMAPHORE_FLAG_VALUE,
      ModifyIndex: oldIndex,
    };
  }

  private async monitorLock(session: string, signal: AbortSignal): Promise<void> {
    let index = 0;
    let retries = this.opts.monitorRetries;
    while (!signal.aborted) {
      try {
        const [pairs, meta] = await this.kv.list(this.opts.prefix, { consistent: true, index, wait: MONITOR_WAIT_TIME, signal });
        const lock = this.decodeLock(this.findLock(pairs));
        pruneDeadHolders(lock, pairs);
        if (!(session in lock.Holders)) return;
        index = meta.lastIndex;
        retries = this.opts.monitorRetries;
      } catch (err) {
        if (signal.aborted) return;
        if (retries > 0 && err instanceof ApiError && err.isServerError) {
          retries--;
          index = 0;
          if (!(await sleep(this.opts.monitorRetryTime, signal))) return;
          continue;
        }
        return;
      }
    }
  }
}

function emptyPair(): KVPair {
  return { Key: "", CreateIndex: 0, ModifyIndex: 0, LockIndex: 0, Flags: SEMAPHORE_FLAG_VALUE, Value: null };
}

function pruneDeadHolders(lock: SemaphoreLock, pairs: KVPair[]): void {
  const alive = new Set(pairs.filter((p) => p.Session).map((p) => p.Session));
  for (const holder of Object.keys(lock.Holders)) {
    if (!alive.has(holder)) delete lock.Holders[holder];
  }
}
