/**
 * Calls that only the leader answers (Consul forwards them to the leader:
 * `Session.Renew` restarts a TTL timer, which runs on the leader), over NATS
 * request/reply: the leader subscribes to `consulate.rpc.<dc>.leader.<method>`
 * while it leads; anyone asks there. No responders means no leader.
 */
import type { NatsConnection, Subscription } from "@nats-io/transport-node";
import { fromWireError, RpcError, toWireError, type WireError } from "../rpc/errors.ts";
import { LogUnavailableError } from "../log/errors.ts";

export type LeaderHandler = (method: string, args: unknown) => Promise<unknown>;

type Frame = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: WireError };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function leaderSubject(rpcPrefix: string, method: string): string {
  return `${rpcPrefix}.leader.${method}`;
}

/** Answers leader calls while subscribed; `unsubscribe()` when leadership ends. */
export function serveLeader(nc: NatsConnection, rpcPrefix: string, handler: LeaderHandler): Subscription {
  return nc.subscribe(`${rpcPrefix}.leader.>`, {
    callback: (err, msg) => {
      if (err !== null) return;
      const method = msg.subject.slice(rpcPrefix.length + ".leader.".length);
      let args: unknown;
      try {
        args = JSON.parse(dec.decode(msg.data));
      } catch (e) {
        msg.respond(enc.encode(JSON.stringify({ ok: false, error: toWireError(new RpcError(`bad request frame: ${(e as Error).message}`)) } satisfies Frame)));
        return;
      }
      handler(method, args).then(
        (value) => msg.respond(enc.encode(JSON.stringify({ ok: true, value } satisfies Frame))),
        (e: unknown) => msg.respond(enc.encode(JSON.stringify({ ok: false, error: toWireError(e) } satisfies Frame))),
      );
    },
  });
}

export async function callLeader(nc: NatsConnection, rpcPrefix: string, method: string, args: unknown, timeoutMs = 2_000): Promise<unknown> {
  let reply;
  try {
    reply = await nc.request(leaderSubject(rpcPrefix, method), enc.encode(JSON.stringify(args)), { timeout: timeoutMs });
  } catch (err) {
    throw new LogUnavailableError(`forwarding ${method} to the leader failed: ${(err as Error).message}`, { cause: err });
  }
  const frame = JSON.parse(dec.decode(reply.data)) as Frame;
  if (!frame.ok) throw fromWireError(frame.error);
  return frame.value;
}
