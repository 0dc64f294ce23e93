/**
 * The body of a cross-datacenter request and reply: the same JSON (with
 * tagged bigints and bytes) as the server RPC port's frames, without the
 * length prefix, since a NATS message already has one.
 *
 *   request  {"i": id, "m": "KVS.Get", "a": args, "o": options}
 *   reply    {"i": id, "r": reply} | {"i": id, "e": {"code", "message"}}
 *
 * `i` names the call for a cancellation; 0 when it cannot be cancelled.
 */
import { decodeBody, encodeFrame, isReplyFrame, isRequestFrame, type ReplyFrame, type RequestFrame } from "../src/rpc/codec.ts";

export type { ReplyFrame, RequestFrame };

export function encodeMessage(frame: RequestFrame | ReplyFrame): Uint8Array {
  return encodeFrame(frame).subarray(4);
}

/** The request in a message body, or null when it is not one (malformed JSON or shape). */
export function decodeRequest(body: Uint8Array): RequestFrame | null {
  try {
    const v = decodeBody(body);
    return isRequestFrame(v) ? v : null;
  } catch {
    return null;
  }
}

export function decodeReply(body: Uint8Array): ReplyFrame | null {
  try {
    const v = decodeBody(body);
    return isReplyFrame(v) ? v : null;
  } catch {
    return null;
  }
}
