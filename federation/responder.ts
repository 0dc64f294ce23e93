/**
 * The answering side of cross-datacenter RPC: a server subscribes, on its
 * own datacenter's NATS, to `consulate.rpc.<dc>` in the datacenter's queue
 * group, so each message of calls is answered by one of the datacenter's
 * servers, through the same endpoint table as the RPC port. Each call is
 * answered on its own as soon as it is done; the answers finished in one
 * turn of the event loop go back as one message (batch.ts). A blocking read
 * parks here, in the target datacenter; a cancellation from the caller ends
 * it without an answer.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { MessageBatcher, splitFrames } from "./batch.ts";
import { Buffer } from "node:buffer";
import { decodeRequest, encodeText, frameOfText, MAX_DEPTH, MAX_REPLY, type ReplyFrame, replyParts, type RequestFrame } from "./wire.ts";
import { cancelSubject, rpcQueue, rpcSubject } from "./subjects.ts";
import { NoPathError, toWireError } from "../src/rpc/errors.ts";
import type { Method, RequestOptions } from "../src/rpc/types.ts";
import { validateArgs, validateOptions } from "../src/rpc/validate.ts";
import type { Server } from "../src/server/server.ts";
import { type EndpointTable, endpoints, type Handler, isMethod } from "../src/server/endpoints/table.ts";

export interface ResponderOptions {
  readonly nc: NatsConnection;
  readonly server: Server;
  readonly table?: EndpointTable;
  /** Told about requests refused for bad input (never thrown). */
  readonly onBadRequest?: (subject: string, reason: string) => void;
}

export interface Responder {
  /**
   * For tests and metrics: messages received, calls answered, messages
   * refused (unreadable, too large, no reply subject) and the bad frames in
   * them, calls cancelled and parked, answers sent in parts.
   */
  readonly stats: {
    readonly messages: number;
    readonly calls: number;
    readonly refused: number;
    readonly badFrames: number;
    readonly cancelled: number;
    readonly parked: number;
    readonly partedReplies: number;
  };
  stop(): Promise<void>;
}

/** Largest message accepted (NATS's own max_payload is 1 MiB by default). */
const MAX_REQUEST = 8 * 1024 * 1024;
/** NATS's default max_payload, for a connection that has not said its own yet. */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;

export function serveDatacenter(o: ResponderOptions): Responder {
  const dc = o.server.config.datacenter;
  const table = o.table ?? endpoints;
  const stats = { messages: 0, calls: 0, refused: 0, badFrames: 0, cancelled: 0, parked: 0, partedReplies: 0 };
  /** Parked calls by id, so a cancellation can end them (their wait in the state store ends too). */
  const parked = new Map<number, AbortController>();
  const maxPayload = () => o.nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
  const replies = new MessageBatcher((subject, body) => {
    try {
      o.nc.publish(subject, body);
    } catch {
      // The connection closed; the caller's link reports it.
    }
  }, maxPayload);

  /** Calls being answered (not parked): while there are, an answer waits for the others of this turn. */
  let busy = 0;
  /** Queues an answer as its JSON text (written straight into the reply message, batch.ts); in parts when too large for one. */
  const answer = (reply: string, f: ReplyFrame) => {
    let text: string;
    let size: number;
    try {
      text = encodeText(f);
      size = Buffer.byteLength(text, "utf8");
      if (size > MAX_REPLY) throw new RangeError(`rpc error: reply of ${size} bytes exceeds the limit of ${MAX_REPLY} bytes`);
    } catch (err) {
      text = encodeText({ i: f.i, e: { code: "RpcError", message: (err as Error).message } });
      size = Buffer.byteLength(text, "utf8");
    }
    const max = maxPayload();
    if (4 + size <= max) return replies.add(reply, text, busy > 0);
    // Larger than a NATS message: in parts, each in a message of its own, in order (wire.ts).
    stats.partedReplies++;
    for (const part of replyParts(f.i, frameOfText(text, size), max)) replies.add(reply, part, busy > 0);
  };

  /** Refuses a whole message (id 0: the caller fails every call of it); without a reply subject it is only counted. */
  const refuse = (reply: string | undefined, reason: string) => {
    stats.refused++;
    o.onBadRequest?.(rpcSubject(dc), reason);
    if (reply) answer(reply, { i: 0, e: { code: "BadRequestError", message: reason } });
  };

  const serve = (reply: string, frame: RequestFrame) => {
    if (!isMethod(frame.m)) {
      stats.badFrames++;
      return answer(reply, { i: frame.i, e: { code: "RpcError", message: `rpc: can't find method ${String(frame.m).slice(0, 200)}` } });
    }
    const method: Method = frame.m;
    try {
      validateOptions(frame.o);
      validateArgs(method, frame.a);
    } catch (e) {
      // A readable call with bad options or arguments: refused with its own id, nothing runs.
      stats.badFrames++;
      return answer(reply, { i: frame.i, e: toWireError(e) });
    }
    stats.calls++;
    let result: unknown;
    let cancel: AbortController | null = null;
    try {
      // Only a blocking call can be cancelled (its caller may go away while it waits).
      cancel = frame.o.minIndex > 0 && frame.i !== 0 && !parked.has(frame.i) ? new AbortController() : null;
      const opts: RequestOptions = cancel ? { ...frame.o, signal: cancel.signal } : frame.o;
      // A request for another datacenter never travels on: one hop, no loops.
      if (opts.datacenter !== dc) throw new NoPathError();
      result = (table[method] as Handler<Method>)(o.server, frame.a as never, opts);
    } catch (e) {
      return answer(reply, { i: frame.i, e: toWireError(e) });
    }
    if (!(result instanceof Promise)) return answer(reply, { i: frame.i, r: result ?? null });
    if (cancel) {
      stats.parked++;
      parked.set(frame.i, cancel);
    } else busy++;
    const done = (f: ReplyFrame) => {
      if (!cancel) busy--;
      else if (parked.get(frame.i) === cancel) {
        parked.delete(frame.i);
        stats.parked--;
      }
      if (!cancel?.signal.aborted) answer(reply, f);
    };
    result.then(
      (r: unknown) => done({ i: frame.i, r: r ?? null }),
      (e: unknown) => done({ i: frame.i, e: toWireError(e) }),
    );
  };

  const requests: Subscription = o.nc.subscribe(rpcSubject(dc), {
    queue: rpcQueue(dc),
    callback: (err, msg) => {
      if (err) return;
      stats.messages++;
      if (!msg.reply) return refuse(undefined, "Invalid RPC request: no reply subject");
      if (msg.data.length > MAX_REQUEST) return refuse(msg.reply, `Invalid RPC request: request of ${msg.data.length} bytes exceeds the limit of ${MAX_REQUEST} bytes`);
      const frames = splitFrames(msg.data);
      if (typeof frames === "string") return refuse(msg.reply, `Invalid RPC request: ${frames}`);
      let bad = 0;
      for (const bytes of frames) {
        const frame = decodeRequest(bytes);
        if (frame) serve(msg.reply, frame);
        else bad++;
      }
      // Without a readable id the caller cannot tell which call failed: one refusal for the message (id 0), however many frames were bad.
      if (bad > 0) {
        stats.badFrames += bad;
        refuse(msg.reply, `Invalid RPC request: ${bad} of ${frames.length} frames are not request frames (malformed JSON, wrong shape or nested deeper than ${MAX_DEPTH})`);
      }
    },
  });

  const cancels: Subscription = o.nc.subscribe(cancelSubject(dc), {
    callback: (err, msg) => {
      if (err) return;
      const id = Number(new TextDecoder().decode(msg.data));
      const call = Number.isSafeInteger(id) ? parked.get(id) : undefined;
      if (!call) return;
      parked.delete(id);
      stats.parked--;
      stats.cancelled++;
      call.abort();
    },
  });

  return {
    stats,
    async stop() {
      requests.unsubscribe();
      cancels.unsubscribe();
      for (const call of parked.values()) call.abort();
      parked.clear();
    },
  };
}
