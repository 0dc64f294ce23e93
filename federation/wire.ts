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
import { Buffer } from "node:buffer";
import { decodeBody, encodeFrame, encodeJson, isReplyFrame, isRequestFrame, type ReplyFrame, type RequestFrame } from "../src/rpc/codec.ts";

export type { ReplyFrame, RequestFrame };

/** One frame, length prefix included. */
export function encodeMessage(frame: RequestFrame | ReplyFrame): Uint8Array {
  return encodeFrame(frame);
}

/** One frame's JSON text: the batcher (batch.ts) writes it into its message's buffer with its length prefix. */
export function encodeText(frame: RequestFrame | ReplyFrame): string {
  return encodeJson(frame);
}

/** The frame (length prefix included) of a frame's JSON text whose UTF-8 size is `size` bytes. */
export function frameOfText(text: string, size: number): Uint8Array {
  const out = new Uint8Array(4 + size);
  new DataView(out.buffer).setUint32(0, size);
  new TextEncoder().encodeInto(text, out.subarray(4));
  return out;
}

/**
 * Deepest nesting of arrays and objects a frame may have. Real frames nest a
 * dozen levels; a deeper one is refused from a linear scan of its bytes,
 * before JSON.parse spends seconds on a million brackets.
 */
export const MAX_DEPTH = 128;

/** Whether the JSON text nests arrays and objects deeper than `max` (brackets inside strings do not count). */
export function nestsDeeper(body: Uint8Array, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped byte
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

function decodeShallow(body: Uint8Array): unknown {
  if (nestsDeeper(body, MAX_DEPTH)) return null;
  return decodeBody(body);
}

/** The request in a frame's JSON bytes, or null when it is not one (malformed JSON or shape, nested too deep). */
export function decodeRequest(body: Uint8Array): RequestFrame | null {
  try {
    const v = decodeShallow(body);
    return isRequestFrame(v) ? v : null;
  } catch {
    return null;
  }
}

export function decodeReply(body: Uint8Array): ReplyFrame | null {
  try {
    const v = decodeShallow(body);
    return isReplyFrame(v) ? v : null;
  } catch {
    return null;
  }
}

/**
 * A reply too large for one NATS message travels as parts, each a frame of
 * its own (`{"i": id, "x": part, "n": parts, "p": base64 of that slice of
 * the reply frame's JSON}`) in a message of its own, in order on the call's
 * reply subject; the caller joins them and reads the reply frame.
 */
export interface ReplyPart {
  readonly i: number;
  readonly x: number;
  readonly n: number;
  readonly p: string;
}

/** Largest reply sent in parts; a larger one is answered with an error naming its size. */
export const MAX_REPLY = 64 * 1024 * 1024;

/** The part frames of an encoded reply frame (length prefix included), none above `maxMessage` bytes. */
export function replyParts(id: number, frame: Uint8Array, maxMessage: number): Uint8Array[] {
  const body = frame.subarray(4);
  // base64 grows a slice by 4/3; the frame's own JSON and prefix need well under 128 bytes.
  const slice = Math.max(3, Math.floor(((maxMessage - 128) * 3) / 4 / 3) * 3);
  const n = Math.ceil(body.length / slice);
  const out: Uint8Array[] = [];
  for (let x = 0; x < n; x++) {
    const p = Buffer.from(body.buffer, body.byteOffset + x * slice, Math.min(slice, body.length - x * slice)).toString("base64");
    const json = new TextEncoder().encode(`{"i":${id},"x":${x},"n":${n},"p":"${p}"}`);
    const frameOut = new Uint8Array(4 + json.length);
    new DataView(frameOut.buffer).setUint32(0, json.length);
    frameOut.set(json, 4);
    out.push(frameOut);
  }
  return out;
}

/** `{"i":` and `,"x":`, the bytes a part frame starts with around its id. */
const PART_OPEN = [0x7b, 0x22, 0x69, 0x22, 0x3a];
const PART_X = [0x2c, 0x22, 0x78, 0x22, 0x3a];

/** Whether a frame's JSON is a reply part (they are written with `i` then `x` first), from its first bytes (`{"i":<digits>,"x":`). */
export function isPart(body: Uint8Array): boolean {
  for (let k = 0; k < PART_OPEN.length; k++) if (body[k] !== PART_OPEN[k]) return false;
  let at = PART_OPEN.length;
  const digits = at;
  while (at < body.length && at < 32 && body[at]! >= 0x30 && body[at]! <= 0x39) at++;
  if (at === digits) return false;
  for (let k = 0; k < PART_X.length; k++) if (body[at + k] !== PART_X[k]) return false;
  return true;
}

export function decodePart(body: Uint8Array): ReplyPart | null {
  try {
    const v = JSON.parse(new TextDecoder().decode(body)) as Record<string, unknown>;
    if (typeof v !== "object" || v === null) return null;
    const { i, x, n, p } = v;
    if (!Number.isSafeInteger(i) || !Number.isSafeInteger(n) || !Number.isSafeInteger(x) || typeof p !== "string") return null;
    if ((n as number) < 1 || (x as number) < 0 || (x as number) >= (n as number)) return null;
    return { i: i as number, x: x as number, n: n as number, p };
  } catch {
    return null;
  }
}

/** Joins the parts of replies, per call id; a reply may not grow past `limit` bytes (MAX_REPLY). */
export class ReplyJoiner {
  private readonly open = new Map<number, { n: number; parts: Uint8Array[]; size: number }>();
  private readonly limit: number;

  constructor(limit = MAX_REPLY) {
    this.limit = limit;
  }

  /** Adds a part: the whole reply frame's JSON once the last part is in, null before, a sentence when the parts make no sense. */
  add(part: ReplyPart): Uint8Array | null | string {
    let o = this.open.get(part.i);
    if (!o) {
      if (part.x !== 0) return `part ${part.x} of ${part.n} before the first`;
      this.open.set(part.i, (o = { n: part.n, parts: [], size: 0 }));
    }
    if (part.n !== o.n || part.x !== o.parts.length) {
      this.open.delete(part.i);
      return `part ${part.x} of ${part.n} out of order`;
    }
    const bytes = Buffer.from(part.p, "base64");
    o.size += bytes.length;
    if (o.size > this.limit) {
      this.open.delete(part.i);
      return `reply larger than ${this.limit} bytes`;
    }
    o.parts.push(bytes);
    if (o.parts.length < o.n) return null;
    this.open.delete(part.i);
    return Buffer.concat(o.parts);
  }

  /** Forgets a call's parts (it ended). */
  drop(id: number): void {
    this.open.delete(id);
  }
}
