/**
 * The writer side of JetStreamLog: publishes appends to the stream with a
 * `Nats-Msg-Id` each, retries them (same id, so JetStream stores each once),
 * and batches under load.
 *
 * At most `maxInFlight` publishes wait for their ack at a time. An append
 * that finds a free slot goes out alone, at once; appends that arrive while
 * every slot is taken queue up and leave together, as one batch message,
 * when a slot frees. Light load keeps one round trip per write; heavy load
 * packs many writes into each replicated message.
 */
import { headers, type MsgHdrs } from "@nats-io/transport-node";
import { JetStreamApiError, type JetStreamClient } from "@nats-io/jetstream";
import { BATCH_HEADER, encodeBatch } from "./jetstream_batch.ts";
import { LogStateError, LogUnavailableError } from "./errors.ts";

/** An append's outcome: its index, and what the commit consumer returned for it. */
export interface Appended {
  readonly index: number;
  readonly result: unknown;
}

export interface Waiting {
  readonly resolve: (r: Appended) => void;
  readonly reject: (err: unknown) => void;
}

/** One stream message on its way: a single entry or a batch. */
export interface Outgoing {
  readonly id: string;
  readonly payload: Uint8Array;
  readonly headers: MsgHdrs | undefined;
  /** One per entry, in order. */
  readonly waiting: Waiting[];
  readonly deadline: number;
  /** Stream sequence from the ack, 0 until it arrives. */
  seq: number;
  /** Which publish of this message is the live one (older answers are ignored). */
  attempt: number;
  /** Still holds an in-flight slot. */
  slot: boolean;
}

export interface WriterHost {
  /** Index of the last entry the reader passed on. */
  applied(): number;
  /** An ack named a committed sequence. */
  committed(seq: number): void;
  /** False once the connection has been gone longer than the hold time. */
  mayWait(): boolean;
}

export interface WriterOptions {
  readonly subject: string;
  readonly writerId: string;
  readonly appendTimeoutMs: number;
  readonly requestTimeoutMs: number;
  /** Publishes awaiting their ack at once. Default 4. */
  readonly maxInFlight?: number;
  /** Entries in one batch message. Default 512. */
  readonly maxBatchEntries?: number;
  /** Payload bytes of one message. */
  readonly maxBatchBytes: number;
}

export interface WriterStats {
  readonly messages: number;
  readonly batches: number;
  readonly batchedEntries: number;
  readonly retries: number;
  readonly duplicates: number;
}

export class StreamWriter {
  readonly #js: JetStreamClient;
  readonly #host: WriterHost;
  readonly #o: Required<WriterOptions>;
  readonly #outgoing = new Map<string, Outgoing>();
  #queue: { data: Uint8Array; waiting: Waiting }[] = [];
  #queuedBytes = 0;
  #inFlight = 0;
  #counter = 0;
  #closed = false;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #stats = { messages: 0, batches: 0, batchedEntries: 0, retries: 0, duplicates: 0 };

  constructor(js: JetStreamClient, host: WriterHost, options: WriterOptions) {
    this.#js = js;
    this.#host = host;
    this.#o = { maxInFlight: 4, maxBatchEntries: 512, ...options };
  }

  /** Queues an append; it leaves alone or in the next batch. */
  append(data: Uint8Array): Promise<Appended> {
    return new Promise<Appended>((resolve, reject) => {
      this.#queue.push({ data, waiting: { resolve, reject } });
      this.#queuedBytes += data.length + 4;
      this.#pump();
    });
  }

  /** Publishes one entry under a caller-chosen id, bypassing the queue (a retried append). */
  appendWithId(id: string, data: Uint8Array): Promise<Appended> {
    if (this.#outgoing.has(id)) return Promise.reject(new LogStateError(`An append with message id "${id}" is already in flight`));
    return new Promise<Appended>((resolve, reject) => {
      this.#send(id, data, undefined, [{ resolve, reject }]);
    });
  }

  /** The reader reached message `id`: it is no longer the writer's (its waiting list comes along). */
  take(id: string): Outgoing | undefined {
    const out = this.#outgoing.get(id);
    if (out === undefined) return undefined;
    this.#outgoing.delete(id);
    this.#release(out);
    return out;
  }

  /** Messages lost with a connection would only time out: send them again now (same ids). */
  republish(): void {
    for (const out of this.#outgoing.values()) if (out.seq === 0) this.#publish(out);
  }

  /** Fails what was acknowledged but never applied by its deadline, and what a snapshot swallowed. */
  sweep(now: number, swallowedUpTo: number, reason: (seq: number) => Error): void {
    for (const [id, out] of this.#outgoing) {
      if (out.seq === 0) continue;
      if (out.seq <= swallowedUpTo || now >= out.deadline) {
        this.#outgoing.delete(id);
        this.#release(out);
        const err = out.seq <= swallowedUpTo ? new LogStateError(`Entry ${out.seq} was applied from a snapshot; its outcome is unknown`) : reason(out.seq);
        for (const w of out.waiting) w.reject(err);
      }
    }
  }

  get pending(): number {
    return this.#outgoing.size + this.#queue.length;
  }

  stats(): WriterStats {
    return { ...this.#stats };
  }

  close(err: Error): void {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const out of this.#outgoing.values()) for (const w of out.waiting) w.reject(err);
    this.#outgoing.clear();
    for (const q of this.#queue) q.waiting.reject(err);
    this.#queue = [];
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#o.maxInFlight && !this.#closed) {
      if (!this.#host.mayWait()) {
        const err = new LogUnavailableError("not connected to NATS");
        for (const q of this.#queue.splice(0)) q.waiting.reject(err);
        this.#queuedBytes = 0;
        return;
      }
      let n = 0;
      let bytes = 0;
      while (n < this.#queue.length && n < this.#o.maxBatchEntries) {
        const size = this.#queue[n]!.data.length + 4;
        if (n > 0 && bytes + size > this.#o.maxBatchBytes) break;
        bytes += size;
        n++;
      }
      const taken = this.#queue.splice(0, n);
      this.#queuedBytes -= bytes;
      const id = `${this.#o.writerId}-${++this.#counter}`;
      if (taken.length === 1) {
        this.#send(id, taken[0]!.data, undefined, [taken[0]!.waiting]);
      } else {
        const h = headers();
        h.set(BATCH_HEADER, String(taken.length));
        this.#stats.batches++;
        this.#stats.batchedEntries += taken.length;
        this.#send(id, encodeBatch(taken.map((t) => t.data)), h, taken.map((t) => t.waiting));
      }
    }
  }

  #send(id: string, payload: Uint8Array, h: MsgHdrs | undefined, waiting: Waiting[]): void {
    const out: Outgoing = { id, payload, headers: h, waiting, deadline: Date.now() + this.#o.appendTimeoutMs, seq: 0, attempt: 0, slot: true };
    this.#inFlight++;
    this.#outgoing.set(id, out);
    this.#stats.messages++;
    this.#publish(out);
  }

  #release(out: Outgoing): void {
    if (!out.slot) return;
    out.slot = false;
    this.#inFlight--;
    this.#pump();
  }

  #publish(out: Outgoing): void {
    const attempt = ++out.attempt;
    const opts = { msgID: out.id, timeout: this.#o.requestTimeoutMs, retries: 0, ...(out.headers ? { headers: out.headers } : {}) };
    this.#js.publish(this.#o.subject, out.payload, opts).then(
      (ack) => {
        this.#host.committed(ack.seq);
        if (ack.duplicate) this.#stats.duplicates++;
        if (this.#outgoing.get(out.id) !== out) return;
        out.seq = ack.seq;
        this.#release(out);
        if (ack.seq > this.#host.applied()) return; // the reader hands out the outcomes when it gets there
        this.#outgoing.delete(out.id);
        if (ack.duplicate) {
          // An id already stored and applied before this call (a retried append): applied once.
          for (const w of out.waiting) w.resolve({ index: ack.seq, result: undefined });
        } else {
          const err = new LogStateError(`Entry ${ack.seq} was applied from a snapshot; its outcome is unknown`);
          for (const w of out.waiting) w.reject(err);
        }
      },
      (err: unknown) => {
        if (this.#outgoing.get(out.id) !== out || out.attempt !== attempt || this.#closed) return;
        if (!retryable(err) || Date.now() >= out.deadline || !this.#host.mayWait()) {
          this.#outgoing.delete(out.id);
          this.#release(out);
          const e = retryable(err) ? new LogUnavailableError(`appending to the log timed out: ${(err as Error).message}`, { cause: err }) : err;
          for (const w of out.waiting) w.reject(e);
          return;
        }
        this.#stats.retries++;
        const t = setTimeout(() => {
          this.#timers.delete(t);
          if (this.#outgoing.get(out.id) === out && out.attempt === attempt) this.#publish(out);
        }, 100);
        this.#timers.add(t);
      },
    );
  }
}

const TRANSIENT = new Set([
  "TimeoutError",
  "NoRespondersError",
  "NoResponders",
  "JetStreamNotEnabled",
  "RequestError",
  "ConnectionError",
  "ClosedConnectionError",
  "DrainingConnectionError",
]);

/**
 * Timeouts, lost connections and "no responders" (no stream leader right now,
 * which the client reports as JetStreamNotEnabled) pass; refusals do not.
 */
export function retryable(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    if (e instanceof JetStreamApiError) return e.code === 503 || e.status === 503;
    if (TRANSIENT.has(e.name) || /timeout|no responders|disconnect|connection (is )?closed/i.test(e.message)) return true;
  }
  return false;
}
