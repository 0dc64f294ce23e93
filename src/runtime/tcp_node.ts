/**
 * TcpConn on node:net (Node, Deno, and Bun when asked for the portable one):
 * a thin layer over net.Socket with half-open sockets and TCP_NODELAY.
 */
import { connect as netConnect, createServer, type AddressInfo, type Socket } from "node:net";
import { keepAccepting } from "./keep_accepting.ts";
import type { ConnectTcpOptions, ListenTcpOptions, TcpConn, TcpHandlers, TcpListener } from "./tcp.ts";
import { DEFAULT_CONNECT_TIMEOUT_MS, TcpConnectError } from "./tcp.ts";

const NONE: TcpHandlers = {};

class NodeConn implements TcpConn {
  private readonly s: Socket;
  private h: TcpHandlers = NONE;
  private reading = false;
  private err: Error | null = null;
  private hooks: (() => void)[] | null = null;
  closed = false;

  constructor(s: Socket) {
    this.s = s;
    s.on("error", (e: Error) => (this.err ??= e));
    s.on("end", () => this.h.end?.());
    s.on("drain", () => this.h.drain?.());
    s.on("close", () => {
      this.closed = true;
      this.h.close?.(this.err);
      const hooks = this.hooks;
      this.hooks = null;
      if (hooks) for (const fn of hooks) fn();
    });
  }

  get remoteAddress(): string {
    return this.s.remoteAddress ?? "";
  }

  get remotePort(): number {
    return this.s.remotePort ?? 0;
  }

  get bytesRead(): number {
    return this.s.bytesRead;
  }

  get bytesWritten(): number {
    return this.s.bytesWritten;
  }

  handle(h: TcpHandlers): void {
    this.h = h;
    // A "data" listener starts the flow, so it waits for the first handler (bytes stay in the socket until then).
    if (!this.reading) {
      this.reading = true;
      this.s.on("data", (c: Uint8Array) => this.h.data?.(c));
    }
  }

  onClosed(fn: () => void): void {
    if (this.closed) fn();
    else (this.hooks ??= []).push(fn);
  }

  write(chunk: Uint8Array): boolean {
    if (this.s.destroyed || this.s.writableEnded) return false;
    return this.s.write(chunk);
  }

  end(): void {
    if (!this.s.destroyed) this.s.end();
  }

  pause(): void {
    this.s.pause();
  }

  resume(): void {
    this.s.resume();
  }

  destroy(): void {
    this.s.destroy();
  }
}

export function listenNode(o: ListenTcpOptions): Promise<TcpListener> {
  const accept = o.accept;
  const server = createServer({ allowHalfOpen: true, noDelay: true }, (s) => accept(new NodeConn(s)));
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(o.port, o.hostname, () => {
      server.off("error", reject);
      keepAccepting(server);
      resolve({
        hostname: o.hostname,
        port: (server.address() as AddressInfo).port,
        kind: "node:net",
        // The callback of close() waits for every connection; the port is released once the handle closes, a turn later.
        close: () =>
          new Promise<void>((r) => {
            server.close();
            setImmediate(r);
          }),
      });
    });
  });
}

export function connectNode(o: ConnectTcpOptions): Promise<TcpConn> {
  const ms = o.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const s = netConnect({ host: o.host, port: o.port, allowHalfOpen: true, noDelay: true });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new TcpConnectError(o.host, o.port, "ETIMEDOUT", `no answer within ${ms} ms`));
    }, ms);
    const fail = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(TcpConnectError.from(o.host, o.port, e));
    };
    s.once("error", fail);
    s.once("connect", () => {
      clearTimeout(timer);
      s.off("error", fail);
      resolve(new NodeConn(s));
    });
  });
}
