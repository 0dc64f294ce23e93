/**
 * Reads a connection's ClientHello off the socket without consuming it for
 * good: bytes are gathered (in a buffer that doubles, so a hello trickling in
 * a byte per segment costs linear copying) until the hello parses, is refused,
 * times out, or the client closes. The socket is left paused with nothing
 * lost; the caller forwards or pushes back the bytes it was given. Works on a
 * node:net socket (`readClientHello`) and on a TcpConn (`readClientHelloTcp`).
 */
import type { Socket } from "node:net";
import type { TcpConn } from "../../src/runtime/tcp.ts";
import { type ClientHelloInfo, peekClientHello, type PeekRefusal } from "./clienthello.ts";

export type HelloRead =
  | { readonly ok: true; readonly hello: ClientHelloInfo; readonly bytes: Uint8Array }
  | { readonly ok: false; readonly reason: PeekRefusal | "timeout" | "truncated" | "closed"; readonly detail: string };

/** The events a hello reader needs from a socket. */
interface HelloSource {
  listen(onData: (chunk: Uint8Array) => void, onEnd: () => void): void;
  /** Stops delivering to the reader and pauses the socket. */
  stop(): void;
}

function readHello(src: HelloSource, timeoutMs: number): Promise<HelloRead> {
  return new Promise((resolve) => {
    // Allocated only when the hello does not arrive in one chunk (it nearly always does).
    let buf = new Uint8Array(0);
    let len = 0;
    let done = false;
    const finish = (r: HelloRead) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      src.stop();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: "timeout", detail: `no complete ClientHello within ${timeoutMs} ms (${len} bytes read)` }), timeoutMs);
    const onEnd = () =>
      finish(len === 0 ? { ok: false, reason: "closed", detail: "closed before sending a byte" } : { ok: false, reason: "truncated", detail: `closed after ${len} bytes of an incomplete ClientHello` });
    const onData = (chunk: Uint8Array) => {
      if (done) return;
      if (len === 0) {
        // The common case: the whole hello in the first chunk, parsed where it lies.
        const r = peekClientHello(chunk);
        if (r.status !== "more") {
          finish(r.status === "error" ? { ok: false, reason: r.reason, detail: r.detail } : { ok: true, hello: r.hello, bytes: chunk });
          return;
        }
      }
      if (len + chunk.length > buf.length) {
        const next = new Uint8Array(Math.max(buf.length * 2, len + chunk.length, 2048));
        next.set(buf.subarray(0, len));
        buf = next;
      }
      buf.set(chunk, len);
      len += chunk.length;
      const r = peekClientHello(buf.subarray(0, len));
      if (r.status === "more") return;
      if (r.status === "error") finish({ ok: false, reason: r.reason, detail: r.detail });
      else finish({ ok: true, hello: r.hello, bytes: buf.subarray(0, len) });
    };
    src.listen(onData, onEnd);
  });
}

export function readClientHello(s: Socket, timeoutMs: number): Promise<HelloRead> {
  let d: ((c: Uint8Array) => void) | null = null;
  let e: (() => void) | null = null;
  return readHello(
    {
      listen(onData, onEnd) {
        d = onData;
        e = onEnd;
        s.on("data", onData);
        s.on("end", onEnd);
        s.on("close", onEnd);
      },
      stop() {
        s.pause();
        if (d) s.off("data", d);
        if (e) s.off("end", e).off("close", e);
      },
    },
    timeoutMs,
  );
}

const IDLE = {};

export function readClientHelloTcp(c: TcpConn, timeoutMs: number): Promise<HelloRead> {
  return readHello(
    {
      listen(onData, onEnd) {
        c.handle({ data: onData, end: onEnd, close: onEnd });
      },
      stop() {
        c.pause();
        c.handle(IDLE);
      },
    },
    timeoutMs,
  );
}
