/**
 * The calling side of one link: every call to the datacenter shares one
 * reply subscription (`<inbox>.<message number>`), calls made in the same
 * turn of the event loop leave as one message (batch.ts), and replies are
 * matched to their calls by the frame id. Per call there is no inbox, no
 * subscription and no NATS message of its own.
 *
 * A message nobody in the datacenter listens for comes back as NATS's
 * no-responders status (503) on its reply subject: every call of that
 * message then fails with "No path to datacenter", as a request would.
 */
import { createInbox, type NatsConnection, type Subscription } from "@nats-io/transport-node";
import { MessageBatcher, type QueuedFrame, splitFrames } from "./batch.ts";
import { decodePart, decodeReply, isPart, ReplyJoiner, type ReplyFrame } from "./wire.ts";
import { NoPathError, RpcError } from "../src/rpc/errors.ts";
import { remoteError } from "../src/rpc/wire_errors.ts";

/** How one call waits. */
export interface CallOptions {
  readonly timeoutMs: number;
  /** Ends the wait (with "request cancelled"). */
  readonly signal?: AbortSignal;
  /** A blocking read: it parks in the other datacenter, so it says nothing about how busy this server is. */
  readonly blocking?: boolean;
}

/** A call waiting for its reply: no timer, closure or listener of its own unless it can be cancelled (`signal`). */
interface Pending {
  readonly id: number;
  readonly batch: number;
  readonly blocking: boolean;
  /** When it times out (ms, performance.now()). */
  readonly deadline: number;
  readonly resolve: (frame: ReplyFrame) => void;
  readonly reject: (err: Error) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
}

/**
 * How often waiting calls are checked for their deadline (ms): one timer per
 * link instead of one per call; a call times out up to this much after its
 * `timeoutMs`.
 */
export const SWEEP_MS = 250;

/** NATS's default max_payload, for a connection that has not said its own yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export class CallMux {
  private readonly nc: NatsConnection;
  private readonly dc: string;
  private readonly inbox: string;
  private readonly sub: Subscription;
  private readonly calls = new Map<number, Pending>();
  /** Calls waiting that are not blocking reads: while there are, new calls wait for the rest of the turn's. */
  private quick = 0;
  private readonly out: MessageBatcher;
  /** Replies too large for one message, arriving in parts. */
  private readonly joiner = new ReplyJoiner();
  /** The deadline check, running while calls wait. */
  private sweeper: ReturnType<typeof setInterval> | null = null;

  constructor(nc: NatsConnection, dc: string) {
    this.nc = nc;
    this.dc = dc;
    this.inbox = createInbox();
    this.sub = nc.subscribe(`${this.inbox}.*`, {
      callback: (err, msg) => {
        if (!err) this.onReply(msg.subject, msg.data, msg.headers?.code ?? 0);
      },
    });
    this.out = new MessageBatcher(
      (subject, body, batch) => {
        try {
          nc.publish(subject, body, { reply: `${this.inbox}.${batch}` });
        } catch (err) {
          this.failBatch(batch, new NoPathError("No path to datacenter", { cause: err }));
        }
      },
      () => nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD,
    );
  }

  /** Calls waiting for their reply. */
  get pending(): number {
    return this.calls.size;
  }

  /**
   * Sends one request frame (its bytes or its JSON text; its id `id`, unique
   * among this mux's calls) to `subject` and resolves with its reply frame.
   * Fails with RpcError after `timeoutMs` (checked every SWEEP_MS) or when
   * `signal` aborts, with NoPathError when nobody in the datacenter listens
   * or the link drops (`failAll`).
   */
  call(subject: string, id: number, frame: QueuedFrame, o: CallOptions): Promise<ReplyFrame> {
    const { timeoutMs, signal } = o;
    const blocking = o.blocking ?? false;
    if (this.calls.has(id)) return Promise.reject(new RangeError(`call id ${id} is already waiting`));
    if (signal?.aborted) return Promise.reject(new RpcError("request cancelled"));
    let batch: number;
    try {
      // Other calls in flight: this server is busy, so wait for the rest of this turn's calls.
      batch = this.out.add(subject, frame, this.quick > 0);
    } catch (err) {
      return Promise.reject(new RpcError(`rpc error making call: ${(err as Error).message}`, { cause: err }));
    }
    const deadline = performance.now() + timeoutMs;
    const onAbort = signal ? () => this.end(id, new RpcError("request cancelled")) : undefined;
    const promise = new Promise<ReplyFrame>((resolve, reject) => this.calls.set(id, { id, batch, blocking, deadline, resolve, reject, signal, onAbort }));
    if (!blocking) this.quick++;
    if (signal) signal.addEventListener("abort", onAbort!, { once: true });
    this.sweeper ??= setInterval(() => this.sweep(), SWEEP_MS);
    return promise;
  }

  /** Ends a waiting call with its reply or an error (nothing when it ended already). */
  private end(id: number, outcome: ReplyFrame | Error): void {
    const call = this.calls.get(id);
    if (!call) return;
    this.calls.delete(id);
    this.joiner.drop(id);
    if (!call.blocking) this.quick--;
    if (call.signal) call.signal.removeEventListener("abort", call.onAbort!);
    if (this.calls.size === 0 && this.sweeper !== null) {
      clearInterval(this.sweeper);
      this.sweeper = null;
    }
    if (outcome instanceof Error) call.reject(outcome);
    else call.resolve(outcome);
  }

  /** Times out the calls whose deadline passed. */
  private sweep(): void {
    const now = performance.now();
    for (const call of [...this.calls.values()]) {
      if (call.deadline <= now) this.end(call.id, new RpcError(`rpc error making call: timeout waiting for an answer from datacenter ${this.dc}`));
    }
  }

  /** Fails every waiting call (the link dropped). */
  failAll(err: Error): void {
    for (const id of [...this.calls.keys()]) this.end(id, err);
  }

  close(): void {
    this.failAll(new NoPathError());
    try {
      this.sub.unsubscribe();
    } catch {
      // The connection is closed already.
    }
  }

  private onReply(subject: string, body: Uint8Array, status: number): void {
    const batch = Number(subject.slice(this.inbox.length + 1));
    if (status === 503 && body.length === 0) return this.failBatch(batch, new NoPathError());
    const frames = splitFrames(body);
    if (typeof frames === "string") return this.failBatch(batch, new RpcError(`rpc error making call: malformed answer from datacenter ${this.dc}: ${frames}`));
    for (const body of frames) {
      let bytes: Uint8Array = body;
      if (isPart(body)) {
        const part = decodePart(body);
        if (!part || !this.calls.has(part.i)) continue; // a part of a call that ended: dropped
        const whole = this.joiner.add(part);
        if (whole === null) continue;
        if (typeof whole === "string") {
          this.end(part.i, new RpcError(`rpc error making call: malformed answer from datacenter ${this.dc}: ${whole}`));
          continue;
        }
        bytes = whole;
      }
      const frame = decodeReply(bytes);
      if (!frame) {
        this.failBatch(batch, new RpcError(`rpc error making call: malformed answer from datacenter ${this.dc}`));
        continue;
      }
      // Id 0: the datacenter refused the whole message (it could not read it).
      if (frame.i === 0 && "e" in frame) this.failBatch(batch, remoteError(frame.e));
      else this.end(frame.i, frame);
    }
  }

  private failBatch(batch: number, err: Error): void {
    for (const call of [...this.calls.values()]) if (call.batch === batch) this.end(call.id, err);
  }
}
