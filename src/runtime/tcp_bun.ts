/**
 * TcpConn on Bun's own sockets (Bun.listen/Bun.connect). Their `write` is
 * unbuffered: it returns how many bytes the kernel took, so what it did not
 * take is queued here (as views: Bun hands every read its own buffer) and
 * written on `drain`. `shutdown()` is the half-close (`end()` would close
 * both ways); once both sides sent their FIN Bun closes the socket (and when
 * ours went first, reports the peer's FIN only as that close: `end` is
 * delivered here before `close`, as node:net does). Sockets get TCP_NODELAY
 * from Bun.
 */
import type { ConnectTcpOptions, ListenTcpOptions, TcpConn, TcpHandlers, TcpListener } from "./tcp.ts";
import { constants } from "node:crypto";
import { DEFAULT_CONNECT_TIMEOUT_MS, type DialTls, TcpConnectError } from "./tcp.ts";

interface BunSocket {
  data: BunConn;
  readonly remoteAddress: string;
  readonly remotePort: number;
  write(data: Uint8Array): number;
  shutdown(): void;
  end(): void;
  pause(): void;
  resume(): void;
  getPeerCertificate?(): { subjectaltname?: string } | null;
}
interface BunSocketHandlers {
  binaryType: "uint8array";
  open(s: BunSocket): void;
  data(s: BunSocket, d: Uint8Array): void;
  end(s: BunSocket): void;
  drain(s: BunSocket): void;
  error(s: BunSocket, err: Error): void;
  close(s: BunSocket, err?: Error): void;
  handshake?(s: BunSocket, ok: boolean, err: { code?: string; message?: string } | null): void;
}
interface BunClientTls {
  cert: string;
  key: string;
  ca: string[];
  serverName: string;
  rejectUnauthorized: false;
  secureOptions: number;
}
interface BunTcpListener {
  readonly port: number;
  readonly hostname: string;
  stop(closeActiveConnections?: boolean): void;
}
export interface BunTcp {
  listen(o: { hostname: string; port: number; allowHalfOpen: boolean; socket: BunSocketHandlers }): BunTcpListener;
  connect(o: { hostname: string; port: number; allowHalfOpen: boolean; data: BunConn; socket: BunSocketHandlers; tls?: BunClientTls }): Promise<BunSocket>;
}

export function tcpBun(): BunTcp | null {
  const bun = (globalThis as { Bun?: Partial<BunTcp> }).Bun;
  return bun && typeof bun.listen === "function" && typeof bun.connect === "function" ? (bun as BunTcp) : null;
}

const NONE: TcpHandlers = {};

interface Dial {
  tls: DialTls | null;
  resolve(c: TcpConn): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
  timedOut: boolean;
}

class BunConn implements TcpConn {
  sock: BunSocket;
  private h: TcpHandlers = NONE;
  private handled = false;
  /** What came before the first `handle()`. */
  private early: { chunks: Uint8Array[]; end: boolean; close: boolean } | null = null;
  /** Bytes the kernel did not take yet. */
  private queue: Uint8Array[] | null = null;
  private ending = false;
  private peerEnded = false;
  private err: Error | null = null;
  private hooks: (() => void)[] | null = null;
  dial: Dial | null = null;
  closed = false;
  bytesRead = 0;
  bytesWritten = 0;

  constructor(sock: BunSocket | null) {
    this.sock = sock as BunSocket;
  }

  get remoteAddress(): string {
    return this.sock.remoteAddress ?? "";
  }

  get remotePort(): number {
    return this.sock.remotePort ?? 0;
  }

  handle(h: TcpHandlers): void {
    this.h = h;
    if (this.handled) return;
    this.handled = true;
    const e = this.early;
    if (e === null) return;
    this.early = null;
    // Delivered after the caller finished setting up.
    queueMicrotask(() => {
      for (const c of e.chunks) this.h.data?.(c);
      if (e.end) this.h.end?.();
      if (e.close) this.h.close?.(this.err);
    });
  }

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else (this.hooks ??= []).push(fn);
  }

  write(chunk: Uint8Array): boolean {
    if (this.closed || this.ending) return false;
    const q = this.queue;
    if (q !== null && q.length > 0) {
      q.push(chunk);
      return false;
    }
    const n = this.sock.write(chunk);
    if (n === chunk.length) {
      this.bytesWritten += n;
      return true;
    }
    // -1: closing; `close` follows.
    if (n < 0) return false;
    this.bytesWritten += n;
    (this.queue ??= []).push(n === 0 ? chunk : chunk.subarray(n));
    return false;
  }

  end(): void {
    if (this.closed || this.ending) return;
    this.ending = true;
    if (this.queue === null || this.queue.length === 0) this.sock.shutdown();
  }

  pause(): void {
    if (!this.closed) this.sock.pause();
  }

  resume(): void {
    if (!this.closed) this.sock.resume();
  }

  destroy(): void {
    if (this.closed) return;
    this.queue = null;
    this.sock.end();
  }

  onData(d: Uint8Array): void {
    this.bytesRead += d.length;
    if (this.handled) this.h.data?.(d);
    else (this.early ??= { chunks: [], end: false, close: false }).chunks.push(d);
  }

  onEnd(): void {
    this.peerEnded = true;
    if (this.handled) this.h.end?.();
    else (this.early ??= { chunks: [], end: false, close: false }).end = true;
  }

  onDrain(): void {
    const q = this.queue;
    if (q === null || q.length === 0) return;
    while (q.length > 0) {
      const c = q[0]!;
      const n = this.sock.write(c);
      if (n < 0) return;
      this.bytesWritten += n;
      if (n < c.length) {
        q[0] = c.subarray(n);
        return;
      }
      q.shift();
    }
    if (this.ending) this.sock.shutdown();
    else this.h.drain?.();
  }

  onError(err: Error): void {
    // A socket failure, or one of our handlers threw: either way the connection is done.
    this.err ??= err;
    this.destroy();
  }

  onClose(err: Error | undefined): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = null;
    if (err) this.err ??= err;
    // After our FIN, Bun reports the peer's FIN as the close itself: say it ended first, as node:net does.
    if (this.err === null && this.ending && !this.peerEnded) this.onEnd();
    if (this.handled) this.h.close?.(this.err);
    else (this.early ??= { chunks: [], end: false, close: false }).close = true;
    const hooks = this.hooks;
    this.hooks = null;
    if (hooks) for (const fn of hooks) fn();
  }
}

// Handlers shared by every socket; each socket's state is its `data`.
const shared = {
  binaryType: "uint8array" as const,
  data: (s: BunSocket, d: Uint8Array) => s.data.onData(d),
  end: (s: BunSocket) => s.data.onEnd(),
  drain: (s: BunSocket) => s.data.onDrain(),
  error: (s: BunSocket, err: Error) => s.data.onError(err),
  close: (s: BunSocket, err?: Error) => s.data.onClose(err),
};

const dialHandlers: BunSocketHandlers = {
  ...shared,
  open(s) {
    const c = s.data;
    c.sock = s;
    const d = c.dial!;
    c.dial = null;
    if (d.timedOut) {
      c.destroy();
      return;
    }
    clearTimeout(d.timer);
    d.resolve(c);
  },
};

/** The one verdict Bun's client gives that we judge ourselves: mesh leaves name no host. */
const HOST_MISMATCH = "ERR_TLS_CERT_ALTNAME_INVALID";

const tlsDialHandlers: BunSocketHandlers = {
  ...shared,
  open(s) {
    s.data.sock = s;
  },
  handshake(s, ok, err) {
    const c = s.data;
    const d = c.dial;
    if (!d) return;
    c.dial = null;
    if (d.timedOut) {
      c.destroy();
      return;
    }
    clearTimeout(d.timer);
    const problem = !ok && err?.code !== HOST_MISMATCH ? `certificate chain is not trusted: ${err?.code ?? err?.message ?? "unknown error"}` : d.tls!.check(s.getPeerCertificate?.()?.subjectaltname ?? "");
    if (problem === null) {
      d.resolve(c);
      return;
    }
    c.destroy();
    d.reject(new Error(problem));
  },
};

export function listenBun(bun: BunTcp, o: ListenTcpOptions): Promise<TcpListener> {
  const accept = o.accept;
  try {
    const l = bun.listen({
      hostname: o.hostname,
      port: o.port,
      allowHalfOpen: true,
      socket: {
        ...shared,
        open(s) {
          const c = new BunConn(s);
          s.data = c;
          accept(c);
        },
      },
    });
    return Promise.resolve({
      hostname: l.hostname,
      port: l.port,
      kind: "native",
      close: () => {
        l.stop(false);
        return Promise.resolve();
      },
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

export function connectBun(bun: BunTcp, o: ConnectTcpOptions, tls: DialTls | null = null): Promise<TcpConn> {
  const ms = o.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const c = new BunConn(null);
    const d: Dial = {
      tls,
      resolve,
      reject,
      timedOut: false,
      timer: setTimeout(() => {
        d.timedOut = true;
        reject(new TcpConnectError(o.host, o.port, "ETIMEDOUT", `no answer within ${ms} ms`));
      }, ms),
    };
    c.dial = d;
    const secure = tls
      ? { tls: { cert: tls.cert, key: tls.key, ca: [...tls.ca], serverName: tls.serverName, rejectUnauthorized: false as const, secureOptions: constants.SSL_OP_NO_TLSv1 | constants.SSL_OP_NO_TLSv1_1 } }
      : {};
    bun.connect({ hostname: o.host, port: o.port, allowHalfOpen: true, data: c, socket: tls ? tlsDialHandlers : dialHandlers, ...secure }).catch((err: unknown) => {
      clearTimeout(d.timer);
      if (!d.timedOut) reject(TcpConnectError.from(o.host, o.port, err));
    });
  });
}
