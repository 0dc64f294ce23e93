/**
 * The reader side of JetStreamLog: brings every stream message to the log in
 * order, whatever NATS is going through.
 *
 * Normally an ordered pull consumer streams the messages. Its ephemeral
 * consumer lives on one NATS node, and when that node dies the client library
 * waits for it (re-creating it needs JetStream's meta leader, which may be
 * electing too). So a watchdog watches for a stall: while the log knows of a
 * committed entry it has not applied (from a publish ack or a read barrier)
 * and the consumer has been silent, it fetches the missing entries one by one
 * with direct gets (answered by any replica, no consumer needed), and after a
 * longer stall it replaces the consumer with a new one starting after what
 * was applied.
 */
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JetStreamManager, type JsMsg } from "@nats-io/jetstream";
import type { MsgHdrs } from "@nats-io/transport-node";
import { BATCH_HEADER } from "./jetstream_batch.ts";

export interface FeedHost {
  /** Index of the last entry passed on. */
  applied(): number;
  /** Highest index known to be committed (acks, read barriers); 0 when unknown. */
  target(): number;
  /**
   * A message of the stream (`batch`: its entry count when it is a batch, else
   * 0); the host ignores what it already has and sees gaps.
   */
  deliver(seq: number, data: Uint8Array, msgId: string, batch: number): void;
  /** The entry after `applied()` is gone from the stream (purged behind a snapshot). */
  gap(firstAvailable: number): void;
}

export interface FeedOptions {
  /** Consumer silence, while behind, before direct gets fill in. Default 400 ms. */
  readonly stallMs?: number;
  /** Consumer silence, while behind, before the consumer is replaced. Default 2 s. */
  readonly restartMs?: number;
}

const MSG_ID = "Nats-Msg-Id";
const WATCHDOG_MS = 100;

export class StreamFeed {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #stream: string;
  readonly #host: FeedHost;
  readonly #stallMs: number;
  readonly #restartMs: number;
  #messages: ConsumerMessages | null = null;
  #generation = 0;
  #running = false;
  #lastDelivery = 0;
  #stalledSince = 0;
  #filling = false;
  #restarting = false;
  #watchdog: ReturnType<typeof setInterval> | null = null;
  #fills = 0;
  #restarts = 0;

  constructor(js: JetStreamClient, jsm: JetStreamManager, stream: string, host: FeedHost, options: FeedOptions = {}) {
    this.#js = js;
    this.#jsm = jsm;
    this.#stream = stream;
    this.#host = host;
    this.#stallMs = options.stallMs ?? 400;
    this.#restartMs = options.restartMs ?? 2_000;
  }

  /** Starts (or restarts) reading at `from`; resolves once the consumer exists. */
  async start(from: number): Promise<void> {
    this.#running = true;
    this.#watchdog ??= setInterval(() => this.#tick(), WATCHDOG_MS);
    await this.#open(from);
  }

  /** Stops the consumer and the watchdog. */
  stop(): void {
    this.#running = false;
    this.#generation++;
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    this.#watchdog = null;
    this.#messages?.stop();
    this.#messages = null;
  }

  /** When the consumer last delivered (ms since epoch). */
  get lastDelivery(): number {
    return this.#lastDelivery;
  }

  /** Entries fetched by direct get, and consumers replaced, since start. */
  stats(): { readonly directGets: number; readonly restarts: number } {
    return { directGets: this.#fills, restarts: this.#restarts };
  }

  async #open(from: number): Promise<void> {
    const generation = ++this.#generation;
    this.#messages?.stop();
    this.#messages = null;
    const consumer = await this.#js.consumers.get(this.#stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from });
    const messages = await consumer.consume({
      max_messages: 1024,
      expires: 2_000,
      callback: (m: JsMsg) => {
        if (generation !== this.#generation) return;
        this.#lastDelivery = Date.now();
        this.#host.deliver(m.seq, m.data, m.headers?.get(MSG_ID) ?? "", batchCount(m.headers));
      },
    });
    if (generation !== this.#generation) {
      messages.stop();
      return;
    }
    this.#messages = messages;
    this.#lastDelivery = Date.now();
  }

  #tick(): void {
    if (!this.#running) return;
    const applied = this.#host.applied();
    if (this.#host.target() <= applied) {
      this.#stalledSince = 0;
      return;
    }
    const now = Date.now();
    if (now - this.#lastDelivery < this.#stallMs) return;
    if (this.#stalledSince === 0) this.#stalledSince = now;
    if (!this.#filling) void this.#fill();
    if (now - this.#stalledSince >= this.#restartMs && !this.#restarting) void this.#restart();
  }

  /** Fetches the entries after `applied` up to the target, one direct get each. */
  async #fill(): Promise<void> {
    this.#filling = true;
    const generation = this.#generation;
    try {
      while (this.#running && generation === this.#generation && this.#host.applied() < this.#host.target()) {
        const seq = this.#host.applied() + 1;
        const m = await this.#jsm.direct.getMessage(this.#stream, { seq });
        if (!this.#running || generation !== this.#generation) return;
        if (m === null) {
          // Purged (then load the snapshot), or this replica has not stored it yet (try later).
          const first = (await this.#jsm.streams.info(this.#stream)).state.first_seq;
          if (seq < first && this.#running && generation === this.#generation) this.#host.gap(first);
          return;
        }
        this.#fills++;
        this.#host.deliver(m.seq, m.data, m.header?.get(MSG_ID) ?? "", batchCount(m.header));
      }
    } catch {
      // NATS is not answering: the next tick tries again.
    } finally {
      this.#filling = false;
    }
  }

  async #restart(): Promise<void> {
    this.#restarting = true;
    try {
      this.#restarts++;
      await this.#open(this.#host.applied() + 1);
      this.#stalledSince = 0;
    } catch {
      // No meta leader yet: the next stall tick tries again.
    } finally {
      this.#restarting = false;
    }
  }
}

function batchCount(h: MsgHdrs | undefined): number {
  const v = h?.get(BATCH_HEADER) ?? "";
  if (v === "") return 0;
  const n = Number(v);
  // A header that is not a count makes the message a malformed batch (skipped alike everywhere).
  return Number.isSafeInteger(n) && n > 0 ? n : -1;
}
