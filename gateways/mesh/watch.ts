/**
 * A blocking-query loop that keeps the last good value: the data plane learns
 * of every change the control plane makes, and when the agent is unreachable
 * it keeps serving what it had while it retries with backoff.
 */
import { backoffDelay } from "../../src/util/mod.ts";

export interface Fetched<T> {
  readonly value: T;
  /** X-Consul-Index (or 0 when the endpoint gives none); fed back as `?index=`. */
  readonly index: number;
  /** X-Consul-ContentHash for hash-blocking endpoints. */
  readonly hash?: string;
}

export interface BlockingParams {
  readonly index: number;
  readonly hash: string;
  readonly signal: AbortSignal;
}

export interface WatchOptions<T> {
  /** For log lines. */
  readonly name: string;
  readonly fetch: (p: BlockingParams) => Promise<Fetched<T>>;
  /** Called with each new value (never twice in a row with an equal one). */
  readonly onUpdate: (value: T) => void;
  readonly onError?: (err: unknown, failures: number) => void;
  readonly minBackoffMs?: number;
  readonly maxBackoffMs?: number;
  /** Pause between answers that did not move (an endpoint that cannot block). */
  readonly minIntervalMs?: number;
}

export class Watch<T> {
  private readonly o: WatchOptions<T>;
  private readonly abort = new AbortController();
  private current: { value: T; json: string } | null = null;
  private stopped = false;
  private loop: Promise<void> | null = null;
  private firstResolve: (v: T) => void = () => {};
  private readonly first: Promise<T>;
  private wake: (() => void) | null = null;

  constructor(options: WatchOptions<T>) {
    this.o = options;
    this.first = new Promise<T>((r) => (this.firstResolve = r));
  }

  /** The last good value, or undefined before the first answer. */
  get value(): T | undefined {
    return this.current?.value;
  }

  /** Resolves with the first value the control plane gives. */
  ready(): Promise<T> {
    return this.first;
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wake?.();
    await this.loop;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.wake = null;
        resolve();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        resolve();
      };
    });
  }

  private async run(): Promise<void> {
    let index = 0;
    let hash = "";
    let failures = 0;
    const min = this.o.minBackoffMs ?? 250;
    const max = this.o.maxBackoffMs ?? 5_000;
    while (!this.stopped) {
      const started = Date.now();
      let got: Fetched<T>;
      try {
        got = await this.o.fetch({ index, hash, signal: this.abort.signal });
      } catch (err) {
        if (this.stopped) return;
        failures++;
        this.o.onError?.(err, failures);
        await this.sleep(backoffDelay(Math.min(failures - 1, 10), { initialMs: min, maxMs: max }));
        continue;
      }
      if (this.stopped) return;
      failures = 0;
      const moved = got.index !== index || (got.hash ?? "") !== hash;
      // An index that goes backwards means the state was reset: start over, as Consul's watch plans do.
      index = got.index < index ? 0 : got.index;
      hash = got.hash ?? "";
      const json = JSON.stringify(got.value);
      if (this.current === null || json !== this.current.json) {
        const firstTime = this.current === null;
        this.current = { value: got.value, json };
        this.o.onUpdate(got.value);
        if (firstTime) this.firstResolve(got.value);
      }
      if (!moved || index === 0) {
        const pause = (this.o.minIntervalMs ?? 1_000) - (Date.now() - started);
        if (pause > 0) await this.sleep(pause);
      }
    }
  }
}
