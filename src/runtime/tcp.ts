/**
 * Plain TCP listeners and dialers for byte relays (the mesh gateway's data
 * path), per runtime: Bun's own sockets (Bun.listen/Bun.connect, tcp_bun.ts)
 * where they exist, node:net elsewhere (tcp_node.ts). Measured with a bare
 * relay under Bun (bench/gateway/conn_profile.ts), the native sockets cost
 * less than half the CPU per connection of Bun's node:net and about half per
 * small request: no stream layer, no event emitter, one handler call per
 * chunk.
 *
 * A connection is driven by one handler object at a time (`handle()` swaps
 * it, so a reader of the first bytes can hand the connection to a relay);
 * bytes that arrive before the first `handle()` are kept for it. Half-close
 * is explicit both ways: `end` tells the peer sent its FIN (the connection
 * stays writable), `end()` sends ours once everything queued is written.
 */
import { listenBun, connectBun, tcpBun } from "./tcp_bun.ts";
import { connectNode, listenNode } from "./tcp_node.ts";

export interface TcpHandlers {
  /** Bytes from the peer; the chunk is the handler's to keep (no buffer is reused). */
  data?(chunk: Uint8Array): void;
  /** The peer half-closed (its FIN): no more data comes; writing may go on. */
  end?(): void;
  /** Everything queued was handed to the kernel: `write` may go on. */
  drain?(): void;
  /** The connection is gone both ways; `err` when it failed (reset, refused write...) rather than ended. */
  close?(err: Error | null): void;
}

export interface TcpConn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Bytes received and sent so far. */
  readonly bytesRead: number;
  readonly bytesWritten: number;
  /** True once `close` has been (or is being) delivered. */
  readonly closed: boolean;
  /** Replaces the handlers (bytes that arrived before the first call are delivered to it). */
  handle(h: TcpHandlers): void;
  /** Runs `fn` once the connection is gone, whatever handlers are set then (for bookkeeping). */
  onClosed(fn: () => void): void;
  /** Queues bytes; false when the caller should wait for `drain` before writing more. */
  write(chunk: Uint8Array): boolean;
  /** Half-close: our FIN goes once everything queued is written. Reading goes on. */
  end(): void;
  /** Stops and restarts reading (back-pressure). */
  pause(): void;
  resume(): void;
  /** Closes at once, dropping what is queued. */
  destroy(): void;
}

export interface TcpListener {
  readonly hostname: string;
  readonly port: number;
  /** "native" or "node:net": which implementation serves it. */
  readonly kind: string;
  /** Stops accepting and releases the port; open connections are their owner's to end. */
  close(): Promise<void>;
}

export interface ListenTcpOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Takes over an accepted connection: call `handle()` before returning. */
  accept(conn: TcpConn): void;
  /** Use node:net even where native sockets exist (for comparisons and tests). */
  readonly portable?: boolean;
}

export interface ConnectTcpOptions {
  readonly host: string;
  readonly port: number;
  /** Fails the dial after this long (default 10 s). */
  readonly timeoutMs?: number;
  readonly portable?: boolean;
}

/**
 * Client TLS for a native dial: our certificate, the roots the server's chain
 * must reach, and `check` judging the server certificate's subject
 * alternative names (the host name is not checked: mesh leaves carry only a
 * URI SAN), null when it is the expected peer, else why not.
 */
export interface DialTls {
  readonly cert: string;
  readonly key: string;
  readonly ca: readonly string[];
  readonly serverName: string;
  check(subjectAltName: string): string | null;
}

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** A dial that failed: `code` is the system's ("ECONNREFUSED", "ETIMEDOUT" for our deadline...) when there is one. */
export class TcpConnectError extends Error {
  override readonly name = "TcpConnectError";
  readonly host: string;
  readonly port: number;
  readonly code: string;
  constructor(host: string, port: number, code: string, detail: string, options?: { cause?: unknown }) {
    super(`connect to ${host}:${port}: ${code || detail}${code && detail ? ` (${detail})` : ""}`, options);
    this.host = host;
    this.port = port;
    this.code = code;
  }

  /** From the runtime's own error. */
  static from(host: string, port: number, err: unknown): TcpConnectError {
    const code = (err as { code?: unknown } | null)?.code;
    return new TcpConnectError(host, port, typeof code === "string" ? code : "", typeof code === "string" ? "" : err instanceof Error ? err.message : String(err), { cause: err });
  }
}

export function listenTcp(o: ListenTcpOptions): Promise<TcpListener> {
  const bun = o.portable ? null : tcpBun();
  return bun ? listenBun(bun, o) : listenNode(o);
}

/**
 * Mutual TLS over the runtime's own sockets where it has them (see the top:
 * the stream layer of its node:tls costs far more per small request), else
 * null and the caller dials node:tls. Resolves once the chain verified
 * against `tls.ca` and `tls.check` accepted the server.
 */
export function connectTlsNative(o: ConnectTcpOptions & { readonly tls: DialTls }): Promise<TcpConn> | null {
  const bun = tcpBun();
  return bun ? connectBun(bun, o, o.tls) : null;
}

/**
 * Whether the runtime has its own sockets: listenTcp/connectTcp use them
 * (else node:net behind the same interface) and connectTlsNative dials over
 * them (else it answers null and the caller dials node:tls).
 */
export function nativeTcp(): boolean {
  return tcpBun() !== null;
}

export function connectTcp(o: ConnectTcpOptions): Promise<TcpConn> {
  const bun = o.portable ? null : tcpBun();
  return bun ? connectBun(bun, o) : connectNode(o);
}
