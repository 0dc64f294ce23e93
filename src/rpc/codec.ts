/**
 * The server RPC port's wire format: length-prefixed frames (u32 big-endian
 * byte count, then UTF-8 JSON), multiplexed by a request id.
 *
 *   request   {"i": id, "m": "KVS.Get", "a": args, "o": options}
 *   reply     {"i": id, "r": reply}
 *   error     {"i": id, "e": {"code": "ApplyError", "message": "..."}}
 *
 * JSON carries two more types, as tagged strings: a bigint is "\u0000n<digits>",
 * a Uint8Array "\u0000b<base64>". A real string that starts with NUL is sent
 * as "\u0000s<string>", so no user value can be mistaken for a tag.
 */
import { FrameAssembler } from "../structs/frames.ts";
import { decodeBase64, encodeBase64 } from "../structs/json.ts";
import type { WireError } from "./errors.ts";
import type { RequestOptions } from "./types.ts";

/** A connection opens with these bytes (and a version), so a stray client is refused at once. */
export const RPC_MAGIC = new Uint8Array([0x43, 0x53, 0x4c, 0x54, 0x01]); // "CSLT" v1
export { FrameError } from "../structs/frames.ts";

/** Consul's RPC type bytes for TLS (agent/pool/conn.go): the first byte of a connection that then speaks TLS. */
export const RPC_TLS = 0x03;
export const RPC_TLS_INSECURE = 0x07;
/** Largest frame either side accepts; past it the connection is dropped. */
export const MAX_FRAME = 128 * 1024 * 1024;
/**
 * Largest request frame the server RPC port accepts: the largest writes (a
 * txn of 64 full KV values) fit with room to spare, while one unauthenticated
 * connection cannot make the server buffer and parse 128 MiB. Replies (a
 * snapshot) may be larger.
 */
export const MAX_REQUEST_FRAME = 64 * 1024 * 1024;

export interface RequestFrame {
  readonly i: number;
  readonly m: string;
  readonly a: unknown;
  readonly o: RequestOptions;
}

export type ReplyFrame = { readonly i: number; readonly r: unknown } | { readonly i: number; readonly e: WireError };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * JSON with the two tagged types, written by hand: JSON.stringify with a
 * replacer function costs several times more, and every call pays it.
 */
function wireJson(v: unknown): string {
  switch (typeof v) {
    case "string":
      return JSON.stringify(v.charCodeAt(0) === 0 ? `\u0000s${v}` : v);
    case "number":
      return Number.isFinite(v) ? String(v) : "null";
    case "boolean":
      return v ? "true" : "false";
    case "bigint":
      return `"\\u0000n${v}"`;
    case "object": {
      if (v === null) return "null";
      if (v instanceof Uint8Array) return `"\\u0000b${encodeBase64(v)}"`;
      if (Array.isArray(v)) {
        let out = "[";
        for (let i = 0; i < v.length; i++) {
          const x: unknown = v[i];
          out += (i > 0 ? "," : "") + (x === undefined || typeof x === "function" || typeof x === "symbol" ? "null" : wireJson(x));
        }
        return out + "]";
      }
      let out = "{";
      let first = true;
      for (const key in v) {
        if (!Object.hasOwn(v, key)) continue;
        const x: unknown = (v as Record<string, unknown>)[key];
        if (x === undefined || typeof x === "function" || typeof x === "symbol") continue;
        out += (first ? "" : ",") + JSON.stringify(key) + ":" + wireJson(x);
        first = false;
      }
      return out + "}";
    }
    default:
      return "null";
  }
}

/** Turns tagged strings back into bigints and bytes, in place (JSON.parse's reviver is slower). */
function untag(v: unknown): unknown {
  if (typeof v === "string") {
    if (v.charCodeAt(0) !== 0) return v;
    const tag = v.charCodeAt(1);
    if (tag === 0x6e) return BigInt(v.slice(2)); // n
    if (tag === 0x62) return decodeBase64(v.slice(2)) ?? new Uint8Array(0); // b
    return v.slice(2); // s
  }
  if (typeof v !== "object" || v === null) return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x === "object" && x !== null) untag(x);
      else if (typeof x === "string" && x.charCodeAt(0) === 0) v[i] = untag(x);
    }
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const key in o) {
    const x = o[key];
    if (typeof x === "object" && x !== null) untag(x);
    else if (typeof x === "string" && x.charCodeAt(0) === 0) o[key] = untag(x);
  }
  return o;
}

/**
 * Whether `v` holds nothing wireJson writes differently from JSON.stringify:
 * no bigint, no bytes, no string starting with NUL, no function, and only
 * plain objects and arrays (no toJSON, no class instances). Most messages
 * are such, and the native JSON.stringify writes them several times faster
 * than wireJson (bench/federation/rpc_path.ts profiles it).
 */
function plainJson(v: unknown): boolean {
  switch (typeof v) {
    case "string":
      return v.charCodeAt(0) !== 0;
    case "number":
    case "boolean":
    case "undefined":
      return true;
    case "object": {
      if (v === null) return true;
      if (Array.isArray(v)) {
        for (let i = 0; i < v.length; i++) if (!plainJson(v[i])) return false;
        return true;
      }
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in v) if (!plainJson((v as Record<string, unknown>)[key])) return false;
      return true;
    }
    default:
      return false;
  }
}

/** A frame's JSON body, tags included, as text (federation/batch.ts writes several into one buffer). */
export function encodeJson(message: RequestFrame | ReplyFrame): string {
  return plainJson(message) ? JSON.stringify(message) : wireJson(message);
}

/** One frame: 4-byte length, then the JSON body. */
export function encodeFrame(message: RequestFrame | ReplyFrame): Uint8Array {
  const body = encoder.encode(encodeJson(message));
  if (body.length > MAX_FRAME) throw new RangeError(`RPC frame of ${body.length} bytes exceeds the limit of ${MAX_FRAME}`);
  const out = new Uint8Array(4 + body.length);
  new DataView(out.buffer).setUint32(0, body.length);
  out.set(body, 4);
  return out;
}

export function decodeBody(body: Uint8Array): unknown {
  return untag(JSON.parse(decoder.decode(body)));
}

const FRAME_START = encoder.encode('{"i":');

/** Every frame is an object whose first key is the id: anything else is not a Consulate peer, refused from its first bytes. */
function checkFrameStart(start: Uint8Array): string | null {
  for (let i = 0; i < start.length; i++) if (start[i] !== FRAME_START[i]) return "frame does not start as a Consulate RPC frame";
  return null;
}

/**
 * Reassembles frames from stream chunks in linear time. `push` returns the
 * complete bodies the chunk finished (as byte views), throwing FrameError on
 * a length past `maxBytes` or a body that does not start like a frame.
 */
export class FrameReader extends FrameAssembler {
  constructor(maxBytes = MAX_FRAME) {
    super({ maxBytes, startBytes: FRAME_START.length, checkStart: checkFrameStart });
  }
}

export function isRequestFrame(v: unknown): v is RequestFrame {
  if (typeof v !== "object" || v === null) return false;
  const f = v as Record<string, unknown>;
  return Number.isSafeInteger(f.i) && typeof f.m === "string" && typeof f.o === "object" && f.o !== null && "a" in f;
}

export function isReplyFrame(v: unknown): v is ReplyFrame {
  if (typeof v !== "object" || v === null) return false;
  const f = v as Record<string, unknown>;
  if (!Number.isSafeInteger(f.i)) return false;
  if ("r" in f) return true;
  const e = f.e as Record<string, unknown> | undefined;
  return typeof e === "object" && e !== null && typeof e.code === "string" && typeof e.message === "string";
}

/**
 * Gathers the frames written during one turn of the event loop into one
 * socket write (replies to a burst of calls, or a burst of calls, cost one
 * syscall instead of one each).
 */
export class FrameWriter {
  private readonly write: (data: Uint8Array) => void;
  private queued: Uint8Array[] = [];
  private size = 0;

  constructor(write: (data: Uint8Array) => void) {
    this.write = write;
  }

  push(frame: Uint8Array): void {
    if (this.queued.length === 0) queueMicrotask(() => this.flush());
    this.queued.push(frame);
    this.size += frame.length;
  }

  flush(): void {
    const frames = this.queued;
    if (frames.length === 0) return;
    this.queued = [];
    const size = this.size;
    this.size = 0;
    if (frames.length === 1) return this.write(frames[0]!);
    const out = new Uint8Array(size);
    let at = 0;
    for (const f of frames) {
      out.set(f, at);
      at += f.length;
    }
    this.write(out);
  }
}
