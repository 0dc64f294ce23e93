/**
 * The answering side of cross-datacenter RPC: a server subscribes, on its
 * own datacenter's NATS, to `consulate.rpc.<dc>.>` in the datacenter's queue
 * group, so each request is answered by one of the datacenter's servers,
 * through the same endpoint table as the RPC port. A blocking read parks
 * here, in the target datacenter; a cancellation from the caller ends it
 * without an answer.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { decodeRequest, encodeMessage, type ReplyFrame } from "./wire.ts";
import { cancelSubject, methodOf, rpcQueue, rpcWildcard } from "./subjects.ts";
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
  /** Requests answered, refused and cancelled, for tests and metrics. */
  readonly stats: { readonly calls: number; readonly refused: number; readonly cancelled: number; readonly parked: number };
  stop(): Promise<void>;
}

/** Largest request body accepted (NATS's own max_payload is 1 MiB by default). */
const MAX_REQUEST = 8 * 1024 * 1024;

export function serveDatacenter(o: ResponderOptions): Responder {
  const dc = o.server.config.datacenter;
  const table = o.table ?? endpoints;
  const stats = { calls: 0, refused: 0, cancelled: 0, parked: 0 };
  /** Parked calls by id, so a cancellation can end them (their wait in the state store ends too). */
  const parked = new Map<number, AbortController>();

  const refuse = (subject: string, reason: string, respond: (f: ReplyFrame) => void, i = 0) => {
    stats.refused++;
    o.onBadRequest?.(subject, reason);
    respond({ i, e: { code: "BadRequestError", message: reason } });
  };

  const requests: Subscription = o.nc.subscribe(rpcWildcard(dc), {
    queue: rpcQueue(dc),
    callback: (err, msg) => {
      if (err || !msg.reply) return;
      const respond = (f: ReplyFrame) => {
        try {
          msg.respond(encodeMessage(f));
        } catch {
          // The connection closed; the caller's link reports it.
        }
      };
      if (msg.data.length > MAX_REQUEST) return refuse(msg.subject, `request of ${msg.data.length} bytes exceeds the limit of ${MAX_REQUEST}`, respond);
      const method = methodOf(msg.subject, dc);
      const frame = decodeRequest(msg.data);
      if (!frame) return refuse(msg.subject, "Invalid RPC request: not a request frame", respond);
      if (method === null || method !== frame.m || !isMethod(method)) {
        return respond({ i: frame.i, e: { code: "RpcError", message: `rpc: can't find method ${frame.m}` } });
      }
      stats.calls++;
      let result: unknown;
      const cancel = frame.i !== 0 ? new AbortController() : null;
      try {
        validateOptions(frame.o);
        const opts: RequestOptions = cancel ? { ...frame.o, signal: cancel.signal } : frame.o;
        // A request for another datacenter never travels on: one hop, no loops.
        if (opts.datacenter !== dc) throw new NoPathError();
        validateArgs(method, frame.a);
        result = (table[method] as Handler<Method>)(o.server, frame.a as never, opts);
      } catch (e) {
        return respond({ i: frame.i, e: toWireError(e) });
      }
      if (!(result instanceof Promise)) return respond({ i: frame.i, r: result ?? null });
      if (cancel) {
        stats.parked++;
        parked.set(frame.i, cancel);
      }
      result.then(
        (r: unknown) => !cancel?.signal.aborted && respond({ i: frame.i, r: r ?? null }),
        (e: unknown) => !cancel?.signal.aborted && respond({ i: frame.i, e: toWireError(e) }),
      ).finally(() => {
        if (cancel && parked.get(frame.i) === cancel) {
          parked.delete(frame.i);
          stats.parked--;
        }
      });
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
