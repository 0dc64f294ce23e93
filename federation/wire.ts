/**
 * A cross-datacenter request and reply: the server RPC port's frames (a
 * length prefix, then JSON with tagged bigints and bytes), several to a NATS
 * message (batch.ts).
 *
 *   request  {"i": id, "m": "KVS.Get", "a": args, "o": options}
 *   reply    {"i": id, "r": reply} | {"i": id, "e": {"code", "message"}}
 *
 * `i` matches a reply to its call and names a parked call for a
 * cancellation; a reply with `i` 0 refuses a whole message.
 */
import { decodeBody, encodeFrame, isReplyFrame, isRequestFrame, type ReplyFrame, type RequestFrame } from "../src/rpc/codec.ts";

export type { ReplyFrame, RequestFrame };

/** One frame, length prefix included. */
export function encodeMessage(frame: RequestFrame | ReplyFrame): Uint8Array {
  return encodeFrame(frame);
}

/** The request in a frame's JSON bytes, or null when it is not one (malformed JSON or shape). */
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
