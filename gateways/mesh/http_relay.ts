/**
 * An HTTP/1.1 relay that judges every request before it reaches the app (L7
 * intentions): requests are parsed from the client in order, allowed ones are
 * forwarded untouched over one app connection, denied ones are answered 403
 * in their turn, and responses come back in request order (pipelining keeps
 * working). An upgrade (101) turns the connection into a plain splice.
 */
import type { Duplex } from "node:stream";
import {
  type BodyFraming,
  ChunkedTracker,
  closesConnection,
  headEnd,
  HttpParseError,
  MAX_HEAD_BYTES,
  parseRequestHead,
  parseResponseHead,
  type RequestHead,
  requestFraming,
  responseFraming,
} from "./http1.ts";
import { Reader, splice, write } from "./relay.ts";

export interface RequestDecision {
  readonly allowed: boolean;
  readonly reason: string;
  /** A refusal other than the RBAC 403: 429 for a rate-limited request. */
  readonly status?: 429;
}

export interface HttpRelayOptions {
  readonly client: Duplex;
  /** Opens the connection to the app (once, on the first allowed request). */
  readonly connectApp: () => Promise<Duplex>;
  readonly decide: (req: RequestHead) => RequestDecision;
  readonly onDenied?: (req: RequestHead, reason: string) => void;
  readonly onError?: (err: unknown) => void;
}

/** Envoy's answer to a request its RBAC filter refuses. */
const FORBIDDEN = "HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 19\r\n\r\nRBAC: access denied";
/** Envoy's answer when its local rate limit refuses a request. */
const RATE_LIMITED = "HTTP/1.1 429 Too Many Requests\r\ncontent-type: text/plain\r\ncontent-length: 18\r\nx-envoy-ratelimited: true\r\n\r\nlocal_rate_limited";

function statusText(status: number, body: string): string {
  const reason = status === 400 ? "Bad Request" : status === 431 ? "Request Header Fields Too Large" : status === 502 ? "Bad Gateway" : "Service Unavailable";
  return `HTTP/1.1 ${status} ${reason}\r\ncontent-type: text/plain\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`;
}

type Pending =
  | { readonly kind: "forwarded"; readonly method: string; readonly upgrade: boolean }
  | { readonly kind: "local"; readonly response: string; readonly close: boolean };

export async function readHead(r: Reader, tooBig: number): Promise<Uint8Array | null> {
  let buf: Uint8Array = new Uint8Array(0);
  for (;;) {
    const end = headEnd(buf);
    if (end !== -1) {
      r.unshift(buf.subarray(end));
      return buf.subarray(0, end);
    }
    if (buf.length > MAX_HEAD_BYTES) throw new HttpParseError(tooBig, "message head too large");
    const c = await r.next();
    if (c === null) {
      if (buf.length === 0) return null;
      throw new HttpParseError(400, "connection closed inside a message head");
    }
    // The common case, a whole head in one chunk, is parsed in place (the head and what follows stay views of it).
    if (buf.length === 0) buf = c;
    else {
      const next = new Uint8Array(buf.length + c.length);
      next.set(buf);
      next.set(c, buf.length);
      buf = next;
    }
    // Leading empty lines before a request line are allowed (RFC 9112 2.2).
    while (buf.length >= 2 && buf[0] === 13 && buf[1] === 10) buf = buf.subarray(2);
  }
}

/** Bodies up to this size are copied behind their head so both leave in one write. */
const COALESCE_MAX = 16 * 1024;

/**
 * `a` then `b` as one buffer: a view when they are adjacent in memory (a head
 * and the body bytes that came in the same read), else a copy when small;
 * null when they are better written apart.
 */
export function joined(a: Uint8Array, b: Uint8Array): Uint8Array | null {
  if (a.buffer === b.buffer && a.byteOffset + a.byteLength === b.byteOffset) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength + b.byteLength);
  if (b.byteLength > COALESCE_MAX) return null;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

/**
 * Passes one body through `sink` (or drops it when sink is null); resolves
 * once it is complete. `lead` (a message head) goes to the sink first, in the
 * same call as the body's first bytes when they have already arrived: one
 * write, so one TLS record and one syscall per small message, as a splice does.
 */
export async function pumpBody(r: Reader, framing: BodyFraming, sink: ((c: Uint8Array) => Promise<void>) | null, lead: Uint8Array | null = null): Promise<void> {
  let pending = sink ? lead : null;
  if (pending && (framing.kind === "none" || !r.hasBuffered)) {
    await sink!(pending);
    pending = null;
  }
  const out = async (c: Uint8Array): Promise<void> => {
    if (!sink) return;
    if (pending) {
      const p = pending;
      pending = null;
      const both = joined(p, c);
      if (both) return sink(both);
      await sink(p);
    }
    await sink(c);
  };
  if (framing.kind === "none") return;
  if (framing.kind === "length") {
    let left = framing.length;
    while (left > 0) {
      const c = await r.next();
      if (c === null) throw new HttpParseError(400, "connection closed inside a body");
      const take = Math.min(left, c.length);
      if (take < c.length) r.unshift(c.subarray(take));
      left -= take;
      await out(c.subarray(0, take));
    }
    return;
  }
  if (framing.kind === "chunked") {
    const t = new ChunkedTracker();
    while (!t.done) {
      const c = await r.next();
      if (c === null) throw new HttpParseError(400, "connection closed inside a chunked body");
      const used = t.feed(c);
      if (used < c.length) r.unshift(c.subarray(used));
      await out(c.subarray(0, used));
    }
    return;
  }
  for (let c = await r.next(); c !== null; c = await r.next()) await out(c);
}

export function relayHttp(o: HttpRelayOptions): void {
  const client = o.client;
  const fromClient = new Reader(client);
  const queue: Pending[] = [];
  let queueWaiter: (() => void) | null = null;
  let requestsDone = false;
  let app: Duplex | null = null;
  let fromApp: Reader | null = null;
  let upgradeDecision: ((upgraded: boolean) => void) | null = null;
  let finished = false;

  const push = (p: Pending) => {
    queue.push(p);
    const w = queueWaiter;
    queueWaiter = null;
    w?.();
  };
  const take = async (): Promise<Pending | null> => {
    for (;;) {
      const p = queue.shift();
      if (p) return p;
      if (requestsDone) return null;
      await new Promise<void>((r) => (queueWaiter = r));
    }
  };
  const finish = (err?: unknown) => {
    if (finished) return;
    finished = true;
    if (err !== undefined) o.onError?.(err);
    client.end();
    app?.end();
    const t = setTimeout(() => {
      client.destroy();
      app?.destroy();
    }, 5_000);
    (t as { unref?: () => void }).unref?.();
  };

  const toRaw = () => {
    // After a 101 both sides speak another protocol: hand the bytes over and splice.
    const a = app!;
    for (const c of fromClient.detach()) a.write(c);
    for (const c of fromApp!.detach()) client.write(c);
    finished = true;
    splice(client, a);
  };

  const requests = async () => {
    for (;;) {
      const raw = await readHead(fromClient, 431);
      if (raw === null) break;
      const head = parseRequestHead(raw);
      const framing = requestFraming(head);
      const close = closesConnection(head.version, head.headers);
      const verdict = o.decide(head);
      if (!verdict.allowed) {
        o.onDenied?.(head, verdict.reason);
        const refusal = verdict.status === 429 ? RATE_LIMITED : FORBIDDEN;
        push({ kind: "local", response: close ? refusal.replace("\r\n\r\n", "\r\nconnection: close\r\n\r\n") : refusal, close });
        await pumpBody(fromClient, framing, null);
        if (close) break;
        continue;
      }
      if (!app) {
        try {
          app = await o.connectApp();
        } catch (err) {
          push({ kind: "local", response: statusText(503, "upstream connect error"), close: true });
          o.onError?.(err);
          break;
        }
        fromApp = new Reader(app);
      }
      const upgrade = head.headers.get("upgrade") !== null || head.method === "CONNECT";
      push({ kind: "forwarded", method: head.method, upgrade });
      const a = app;
      await pumpBody(fromClient, framing, (c) => write(a, c), raw);
      if (upgrade) {
        const upgraded = await new Promise<boolean>((r) => (upgradeDecision = r));
        if (upgraded) return;
      }
      if (close) break;
    }
    requestsDone = true;
    push({ kind: "local", response: "", close: false });
  };

  const responses = async () => {
    for (;;) {
      const p = await take();
      if (p === null) break;
      if (p.kind === "local") {
        if (p.response === "") {
          if (queue.length === 0 && requestsDone) break;
          continue;
        }
        await write(client, p.response);
        if (p.close) break;
        continue;
      }
      const r = fromApp!;
      for (;;) {
        const raw = await readHead(r, 502);
        if (raw === null) throw new HttpParseError(502, "the app closed the connection before answering");
        const head = parseResponseHead(raw);
        if (head.status === 101 || (p.method === "CONNECT" && head.status >= 200 && head.status < 300)) {
          await write(client, raw);
          upgradeDecision?.(true);
          toRaw();
          return;
        }
        if (head.status >= 100 && head.status < 200) {
          await write(client, raw);
          continue;
        }
        const framing = responseFraming(head, p.method);
        await pumpBody(r, framing, (c) => write(client, c), raw);
        if (p.upgrade) upgradeDecision?.(false);
        if (framing.kind === "close" || closesConnection(head.version, head.headers)) return finish();
        break;
      }
    }
    finish();
  };

  const fail = (err: unknown) => {
    if (finished) return;
    if (err instanceof HttpParseError && !client.destroyed && !client.writableEnded) {
      client.write(statusText(err.status, err.message));
    }
    finish(err);
  };
  requests().catch(fail);
  responses().catch(fail);
}
