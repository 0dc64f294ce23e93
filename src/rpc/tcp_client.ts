/**
 * One multiplexed connection to a server's RPC port. It connects on first
 * use and again after it is lost; calls in flight when it drops fail with a
 * TransportError that says whether the request had gone out (a read may then
 * be retried elsewhere; a write that went out may not).
 */
import { connect, type Socket } from "node:net";
import { decodeBody, encodeFrame, FrameReader, FrameWriter, isReplyFrame, RPC_MAGIC, RPC_TLS, RPC_TLS_INSECURE } from "./codec.ts";
import { RpcError } from "./errors.ts";
import type { RequestOptions } from "./types.ts";
import { remoteError } from "./wire_errors.ts";
import { effectiveWait, MAX_WAIT_MS } from "../server/blocking.ts";
import type { ClientTls } from "../tls/context.ts";
import { describeTlsError, dialTls } from "../tls/sockets.ts";

/** The call never reached a server, or its answer never came back. */
export class TransportError extends RpcError {
  override readonly name = "TransportError";
  /** True once the request was written: the server may have acted on it. */
  readonly sent: boolean;

  constructor(message: string, sent: boolean, options?: { cause?: unknown }) {
    super(message, options);
    this.sent = sent;
  }
}

export interface ConnectionOptions {
  readonly host: string;
  readonly port: number;
  /** Give up connecting after this long (ms). */
  readonly connectTimeoutMs?: number;
  /** A non-blocking call that takes longer than this fails and drops the connection (ms). */
  readonly callTimeoutMs?: number;
  /** TLS for each new connection (asked when dialling, so reloads apply); null or absent for plain text. */
  readonly tls?: () => ClientTls | null;
  /** Consul's "TLS insecure" byte: no client certificate, only AutoEncrypt.Sign is answered. */
  readonly insecure?: boolean;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

export class RpcConnection {
  readonly host: string;
  readonly port: number;
  private readonly connectTimeoutMs: number;
  private readonly callTimeoutMs: number;
  private readonly tls: (() => ClientTls | null) | undefined;
  private readonly insecure: boolean;
  private socket: Socket | null = null;
  private connecting: Promise<Socket> | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;

  constructor(opts: ConnectionOptions) {
    this.host = opts.host;
    this.port = opts.port;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 5_000;
    this.callTimeoutMs = opts.callTimeoutMs ?? 60_000;
    this.tls = opts.tls;
    this.insecure = opts.insecure ?? false;
  }

  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Calls in flight. */
  get inFlight(): number {
    return this.pending.size;
  }

  async call(method: string, args: unknown, opts: RequestOptions): Promise<unknown> {
    if (this.closed) throw new TransportError(`rpc error: connection to ${this.address} is closed`, false);
    const socket = this.socket ?? (await this.open());
    const id = this.nextId++;
    let frame: Uint8Array;
    try {
      frame = encodeFrame({ i: id, m: method, a: args, o: opts });
    } catch (err) {
      throw new RpcError(`rpc error: cannot encode ${method}: ${(err as Error).message}`, { cause: err });
    }
    // A blocking call may rightly wait as long as the server's longest wait plus jitter.
    const timeoutMs = opts.minIndex > 0 ? effectiveWait(Math.min(opts.waitMs || MAX_WAIT_MS, MAX_WAIT_MS), () => 1) + 10_000 : this.callTimeoutMs;
    return new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new TransportError(`rpc error: ${method} to ${this.address} timed out after ${timeoutMs} ms`, true));
        // A server that does not answer a plain call in time is not to be trusted with the next one.
        if (opts.minIndex <= 0 || (this.closed && this.pending.size === 0)) socket.destroy();
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.writerOf(socket).push(frame);
    });
  }

  private writer: { socket: Socket; out: FrameWriter } | null = null;

  private writerOf(socket: Socket): FrameWriter {
    if (this.writer?.socket !== socket) {
      this.writer = {
        socket,
        out: new FrameWriter((data) => {
          if (!socket.destroyed) socket.write(data);
        }),
      };
    }
    return this.writer.out;
  }

  private open(): Promise<Socket> {
    this.connecting ??= new Promise<Socket>((resolve, reject) => {
      const raw = connect({ host: this.host, port: this.port });
      const tls = this.tls?.() ?? null;
      const reader = new FrameReader();
      const timer = setTimeout(() => raw.destroy(new Error(`timed out after ${this.connectTimeoutMs} ms`)), this.connectTimeoutMs);
      let up = false;
      let handshaking = false;
      const failConnect = (why: string, cause?: unknown) => {
        if (up) return;
        up = true;
        clearTimeout(timer);
        this.connecting = null;
        raw.destroy();
        reject(new TransportError(`rpc error: failed to connect to ${this.address}: ${why}`, false, { cause }));
      };
      const ready = (socket: Socket) => {
        clearTimeout(timer);
        up = true;
        socket.on("data", (chunk: Uint8Array) => {
          let bodies: Uint8Array[];
          try {
            bodies = reader.push(chunk);
          } catch {
            socket.destroy();
            return;
          }
          for (const body of bodies) this.deliver(body, socket);
        });
        socket.on("error", () => socket.destroy());
        socket.on("close", () => {
          if (this.socket === socket) this.socket = null;
          this.failAll(new TransportError(`rpc error: connection to ${this.address} lost`, true));
        });
        socket.write(RPC_MAGIC);
        this.socket = socket;
        this.connecting = null;
        resolve(socket);
      };
      raw.once("connect", () => {
        raw.setNoDelay(true);
        raw.setKeepAlive(true, 10_000);
        if (!tls) return ready(raw);
        // From here the TLS socket reports how the connection ended.
        handshaking = true;
        raw.write(new Uint8Array([this.insecure ? RPC_TLS_INSECURE : RPC_TLS]));
        dialTls(raw, tls).then(ready, (err: Error) => failConnect(`TLS handshake failed: ${describeTlsError(err)}`, err));
      });
      raw.on("error", (err: Error) => {
        if (!handshaking) failConnect(err.message, err);
      });
      raw.on("close", () => {
        if (!handshaking) failConnect("connection closed");
      });
    });
    return this.connecting;
  }

  private deliver(body: Uint8Array, socket: Socket): void {
    let frame: unknown;
    try {
      frame = decodeBody(body);
    } catch {
      socket.destroy();
      return;
    }
    if (!isReplyFrame(frame)) {
      socket.destroy();
      return;
    }
    const p = this.pending.get(frame.i);
    if (!p) return;
    this.pending.delete(frame.i);
    clearTimeout(p.timer);
    if ("e" in frame) p.reject(remoteError(frame.e));
    else p.resolve(frame.r);
    if (this.closed && this.pending.size === 0) socket.destroy();
  }

  private failAll(err: Error): void {
    const all = [...this.pending.values()];
    this.pending.clear();
    for (const p of all) {
      clearTimeout(p.timer);
      p.reject(err);
    }
  }

  /**
   * Takes no new calls and closes once the calls in flight are answered (or
   * time out): the router retires a connection this way when the TLS it was
   * opened with changed, so the next calls dial with the new settings.
   */
  drain(): void {
    this.closed = true;
    if (this.pending.size > 0) return;
    this.socket?.destroy();
    this.socket = null;
  }

  /** Drops the connection; calls in flight fail. */
  close(): void {
    this.closed = true;
    this.socket?.destroy();
    this.socket = null;
    this.failAll(new TransportError(`rpc error: connection to ${this.address} closed`, true));
  }
}
