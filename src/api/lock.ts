/**
 * Client-side leader election on one KV key: the algorithm of Consul's Go
 * `api.Lock`, so a Consulate lock and a Go/Vault lock on the same key exclude
 * each other.
 *
 * - A session `{Name: "Consul API Lock", TTL: "15s"}` is created unless one is
 *   given, and renewed every TTL/2 until unlock.
 * - The key is watched with blocking GETs while another session holds it, then
 *   taken with `?acquire=<session>&flags=3304740253564472344`.
 * - A failed acquire with nobody holding the key means a lock-delay is running:
 *   wait `lockRetryTime` (5s) and try again.
 * - Once held, a blocking `?consistent` GET watches the key; when its Session
 *   changes the lock is lost and the returned signal aborts.
 * - Unlock releases with `?release=` and destroys the session it created.
 */
import type { Client } from "./client.ts";
import { parseDuration } from "./duration.ts";
import { ApiError, LockError } from "./errors.ts";
import type { KV, KVPairInput } from "./kv.ts";
import { Mutex } from "./mutex.ts";
import type { QueryOptions } from "./options.ts";
import { anySignal, sleep } from "./sleep.ts";

export const DEFAULT_LOCK_SESSION_NAME = "Consul API Lock";
export const DEFAULT_LOCK_SESSION_TTL = "15s";
export const DEFAULT_LOCK_WAIT_TIME = 15_000;
export const DEFAULT_LOCK_RETRY_TIME = 5_000;
export const DEFAULT_MONITOR_RETRY_TIME = 2_000;
/**
 * Upper bound of each blocking read while a lock is held. Go leaves it to the
 * agent's 5-minute default, but Node's fetch gives up on a response whose
 * headers take 300s, which would read as a lost lock; one minute stays clear
 * of that on every runtime.
 */
export const MONITOR_WAIT_TIME = 60_000;
/** 0x2ddccbc058a50c18: marks a key as a lock (a semaphore uses another value). */
export const LOCK_FLAG_VALUE = 0x2ddccbc058a50c18n;

export interface LockOptions {
  /** Key to lock; must be writable. */
  readonly key: string;
  /** Value stored in the key while held. */
  readonly value?: Uint8Array | string;
  /** Existing session to lock with; when absent one is created and renewed. */
  readonly session?: string;
  readonly sessionName?: string;
  /** Go duration; default "15s". */
  readonly sessionTTL?: string;
  /** How many 500 answers the monitor rides out before declaring the lock lost (default 0). */
  readonly monitorRetries?: number;
  /** Milliseconds between monitor retries (default 2000). */
  readonly monitorRetryTime?: number;
  /** Milliseconds each blocking wait for the key lasts (default 15000); with `lockTryOnce`, the total budget. */
  readonly lockWaitTime?: number;
  /** Give up (resolve null) after one wait of `lockWaitTime` instead of trying forever. */
  readonly lockTryOnce?: boolean;
  /** Milliseconds to wait after an acquire lost to lock-delay (default 5000). */
  readonly lockRetryTime?: number;
}

export class Lock {
  private readonly kv: KV;
  private readonly opts: Required<Omit<LockOptions, "value" | "session">> & Pick<LockOptions, "value" | "session">;
  private readonly mutex = new Mutex();
  private held = false;
  private lockSession = "";
  private renewController: AbortController | null = null;
  private renewDone: Promise<void> = Promise.resolve();
  private monitorController: AbortController | null = null;
  private monitorDone: Promise<void> = Promise.resolve();
  private lostController: AbortController | null = null;

  private readonly c: Client;

  constructor(c: Client, options: LockOptions) {
    this.c = c;
    if (options.key === "") throw new LockError("failed", "missing key");
    const sessionTTL = options.sessionTTL || DEFAULT_LOCK_SESSION_TTL;
    try {
      parseDuration(sessionTTL);
    } catch (err) {
      throw new LockError("failed", `invalid SessionTTL: ${(err as Error).message}`, { cause: err });
    }
    this.kv = c.kv();
    this.opts = {
      key: options.key,
      value: options.value,
      session: options.session,
      sessionName: options.sessionName || DEFAULT_LOCK_SESSION_NAME,
      sessionTTL,
      monitorRetries: options.monitorRetries ?? 0,
      monitorRetryTime: options.monitorRetryTime || DEFAULT_MONITOR_RETRY_TIME,
      lockWaitTime: options.lockWaitTime || DEFAULT_LOCK_WAIT_TIME,
      lockTryOnce: options.lockTryOnce ?? false,
      lockRetryTime: options.lockRetryTime || DEFAULT_LOCK_RETRY_TIME,
    };
  }

  get isHeld(): boolean {
    return this.held;
  }

  /** The session holding (or trying to hold) the lock. */
  get session(): string {
    return this.lockSession;
  }

  /**
   * Blocks until the lock is held. Resolves to a signal that aborts when the
   * lock is lost (or released), or to `null` when `stop` aborted first or a
   * one-shot attempt timed out.
   */
  lock(stop?: AbortSignal): Promise<AbortSignal | null> {
    return this.mutex.run(() => this.lockLocked(stop));
  }

  private async lockLocked(stop?: AbortSignal): Promise<AbortSignal | null> {
    if (this.held) throw new LockError("held", "Lock already held");
    this.lockSession = this.opts.session ?? "";
    let ownRenew: AbortController | null = null;
    if (this.lockSession === "") {
      try {
        this.lockSession = await this.c.session().create({ Name: this.opts.sessionName, TTL: this.opts.sessionTTL });
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
      const acquired = await this.acquireLoop(stop);
      if (!acquired) return null;
      this.held = true;
      const lost = new AbortController();
      const monitor = new AbortController();
      this.lostController = lost;
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

  private async acquireLoop(stop?: AbortSignal): Promise<boolean> {
    const started = performance.now();
    let attempts = 0;
    let index = 0;
    for (;;) {
      if (stop?.aborted) return false;
      let wait = this.opts.lockWaitTime;
      if (this.opts.lockTryOnce && attempts > 0) {
        const elapsed = performance.now() - started;
        if (elapsed > this.opts.lockWaitTime) return false;
        wait = this.opts.lockWaitTime - elapsed;
      }
      attempts++;
      const pair = await this.read({ wait, index }, stop);
      if (pair === "stopped") return false;
      const [current, lastIndex] = pair;
      if (current && current.Flags !== LOCK_FLAG_VALUE) {
        throw new LockError("conflict", "Existing key does not match lock use");
      }
      if (current && current.Session === this.lockSession) return true;
      if (current && current.Session) {
        index = lastIndex;
        continue;
      }
      let locked: boolean;
      try {
        locked = await this.kv.acquire(this.entry(this.lockSession));
      } catch (err) {
        throw new LockError("failed", `failed to acquire lock: ${(err as Error).message}`, { cause: err });
      }
      if (locked) return true;
      // Find out why: someone else won (wait on the key) or a lock-delay is running (timed retry).
      const after = await this.read({ wait, index: 0 }, stop);
      if (after === "stopped") return false;
      if (after[0]?.Session) {
        index = after[1];
        continue;
      }
      index = 0;
      if (!(await sleep(this.opts.lockRetryTime, stop))) return false;
    }
  }

  private async read(
    q: { wait: number; index: number },
    stop?: AbortSignal,
  ): Promise<[Awaited<ReturnType<KV["get"]>>[0], number] | "stopped"> {
    const combined = anySignal([stop]);
    try {
      const query: QueryOptions = { wait: q.wait, index: q.index, signal: combined.signal };
      const [pair, meta] = await this.kv.get(this.opts.key, query);
      return [pair, meta.lastIndex];
    } catch (err) {
      if (stop?.aborted) return "stopped";
      throw new LockError("failed", `failed to read lock: ${(err as Error).message}`, { cause: err });
    } finally {
      combined.dispose();
    }
  }

  /** Releases the lock and destroys the session it created. */
  unlock(): Promise<void> {
    return this.mutex.run(async () => {
      if (!this.held) throw new LockError("not-held", "Lock not held");
      this.held = false;
      const entry = this.entry(this.lockSession);
      this.lockSession = "";
      this.monitorController?.abort();
      await this.monitorDone;
      this.monitorController = null;
      this.lostController = null;
      try {
        await this.kv.release(entry);
      } catch (err) {
        throw new LockError("failed", `failed to release lock: ${(err as Error).message}`, { cause: err });
      } finally {
        if (this.renewController) {
          this.renewController.abort();
          await this.renewDone;
          this.renewController = null;
        }
      }
    });
  }

  /** Deletes the lock key when nobody holds it; `in-use` otherwise. */
  destroy(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.held) throw new LockError("held", "Lock already held");
      let pair;
      try {
        [pair] = await this.kv.get(this.opts.key);
      } catch (err) {
        throw new LockError("failed", `failed to read lock: ${(err as Error).message}`, { cause: err });
      }
      if (pair === null) return;
      if (pair.Flags !== LOCK_FLAG_VALUE) throw new LockError("conflict", "Existing key does not match lock use");
      if (pair.Session) throw new LockError("in-use", "Lock in use");
      let removed: boolean;
      try {
        removed = await this.kv.deleteCAS(pair);
      } catch (err) {
        throw new LockError("failed", `failed to remove lock: ${(err as Error).message}`, { cause: err });
      }
      if (!removed) throw new LockError("in-use", "Lock in use");
    });
  }

  private entry(session: string): KVPairInput {
    const e: KVPairInput = { Key: this.opts.key, Session: session, Flags: LOCK_FLAG_VALUE };
    if (this.opts.value !== undefined) e.Value = this.opts.value;
    return e;
  }

  /** Watches the key until our session no longer holds it, or `signal` aborts. */
  private async monitorLock(session: string, signal: AbortSignal): Promise<void> {
    let index = 0;
    let retries = this.opts.monitorRetries;
    while (!signal.aborted) {
      try {
        const [pair, meta] = await this.kv.get(this.opts.key, { consistent: true, index, wait: MONITOR_WAIT_TIME, signal });
        if (!pair || pair.Session !== session) return;
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
