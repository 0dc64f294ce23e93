/**
 * Many frames in one NATS message. Calls to another datacenter made during
 * one turn of the event loop leave as one message, and the replies finished
 * during one turn go back as one: on a busy server a cross-datacenter read
 * then costs a share of a socket write, a NATS routing and a wake-up of the
 * other side instead of one of each (bench/federation measures it).
 *
 * A body is frames one after another, each as the RPC port writes it
 * (src/rpc/codec.ts): a u32 big-endian byte count, then the JSON. A frame
 * may be queued as its JSON text: it is then written straight into the
 * message's one buffer (no bytes of its own, no copy).
 */
import { Buffer } from "node:buffer";

/** A frame as queued: its bytes, length prefix included, or its JSON text. */
export type QueuedFrame = Uint8Array | string;

interface OpenBody {
  readonly batch: number;
  readonly frames: QueuedFrame[];
  /** Bytes of the message, length prefixes included. */
  size: number;
}

const utf8 = new TextEncoder();

/**
 * One message body per subject, sent once the current task's microtasks
 * have run, or, when the caller expects more frames soon (`gather`), at the
 * end of the current turn of the event loop; sooner when it is full. A lone
 * call (nothing else in flight) leaves at once; under load the calls of
 * every request handled in one turn share a message.
 */
export class MessageBatcher {
  private readonly send: (subject: string, body: Uint8Array, batch: number) => void;
  private readonly maxBytes: () => number;
  private readonly open = new Map<string, OpenBody>();
  private nextBatch = 1;
  private scheduled = false;

  /**
   * `send` publishes one body (`batch` numbers it, so a caller can tell the
   * calls of one message apart); `maxBytes` is the largest body NATS takes.
   */
  constructor(send: (subject: string, body: Uint8Array, batch: number) => void, maxBytes: () => number) {
    this.send = send;
    this.maxBytes = maxBytes;
  }

  /**
   * Queues one frame for `subject` and answers the number of the message it
   * will leave in. `gather`: more frames are likely this turn, so wait for
   * the end of it. Throws RangeError when the frame alone exceeds `maxBytes`.
   */
  add(subject: string, frame: QueuedFrame, gather = false): number {
    const max = this.maxBytes();
    const bytes = typeof frame === "string" ? 4 + Buffer.byteLength(frame, "utf8") : frame.length;
    if (bytes > max) throw new RangeError(`a message of ${bytes} bytes exceeds the NATS max_payload of ${max} bytes`);
    let open = this.open.get(subject);
    if (open && open.size + bytes > max) {
      this.flushOne(subject, open);
      open = undefined;
    }
    if (!open) {
      open = { batch: this.nextBatch++, frames: [], size: 0 };
      if (this.nextBatch >= Number.MAX_SAFE_INTEGER) this.nextBatch = 1;
      this.open.set(subject, open);
    }
    open.frames.push(frame);
    open.size += bytes;
    if (!this.scheduled) {
      this.scheduled = true;
      if (gather) setImmediate(() => this.flush());
      else queueMicrotask(() => this.flush());
    }
    return open.batch;
  }

  /** Sends everything queued now. */
  flush(): void {
    this.scheduled = false;
    for (const [subject, open] of this.open) this.flushOne(subject, open);
  }

  private flushOne(subject: string, open: OpenBody): void {
    this.open.delete(subject);
    this.send(subject, joinFrames(open.frames, open.size), open.batch);
  }
}

/** One buffer of `size` bytes holding the frames in order (a lone frame already in bytes is sent as it is). */
function joinFrames(frames: readonly QueuedFrame[], size: number): Uint8Array {
  const first = frames[0]!;
  if (frames.length === 1 && typeof first !== "string") return first;
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const f of frames) {
    if (typeof f === "string") {
      const { written } = utf8.encodeInto(f, out.subarray(at + 4));
      view.setUint32(at, written);
      at += 4 + written;
    } else {
      out.set(f, at);
      at += f.length;
    }
  }
  return out;
}

/**
 * The frame bodies (JSON bytes, views into `body`) of a message, or a
 * sentence saying why it is not a list of frames (a length past the end, an
 * empty body, an empty frame).
 */
export function splitFrames(body: Uint8Array): Uint8Array[] | string {
  if (body.length === 0) return "empty message";
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < body.length) {
    if (body.length - at < 4) return `truncated frame length at byte ${at}`;
    const len = view.getUint32(at);
    if (len === 0) return `empty frame at byte ${at}`;
    if (len > body.length - at - 4) return `frame of ${len} bytes at byte ${at} runs past the end of the ${body.length}-byte message`;
    out.push(body.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}
