/**
 * UDP and TCP listeners around a DNS handler. Everything that could queue is
 * bounded: UDP queries wait in a drop-oldest queue (and for at most
 * `maxQueueAgeMs`), the kernel receive buffer has a set size, answers that
 * need the recursors are capped, and TCP has a connection limit, an idle
 * timeout and per-connection back-pressure.
 */
import { createServer, type Server as NetServer, type Socket as NetSocket } from "node:net";
import { PerClientCount } from "../structs/per_client.ts";
import type { DnsReply, Transport } from "./handler.ts";
import { DatagramQueue } from "./queue.ts";
import { keepAccepting } from "../runtime/keep_accepting.ts";
import { bindUdp as bindUdpSocket, type UdpEndpoint } from "../runtime/udp.ts";

/** `nowMs`, when given, is the time to answer as of (the listener reads the clock once per event-loop turn). */
export type DnsHandle = (query: Uint8Array, transport: Transport, remoteAddress: string, nowMs?: number) => DnsReply;

/** Inline answers between two reads of the clock. */
const INLINE_CHECK = 4;

export interface DnsServerOptions {
  readonly host: string;
  /** 0 picks a free port (the same for UDP and TCP). */
  readonly port: number;
  readonly handle: DnsHandle;
  /** UDP queries waiting to be answered before the oldest are dropped. */
  readonly queueLimit?: number;
  /** A UDP query older than this when its turn comes is dropped unanswered. */
  readonly maxQueueAgeMs?: number;
  /**
   * Queued queries answered per turn of the event loop at least (16); more
   * while the turn has spent less than `inlineMs` on them. A slow handler
   * answers few per turn, so reads keep up and the oldest are shed.
   */
  readonly batch?: number;
  /**
   * Time per event-loop turn (ms) spent answering queries as they arrive,
   * before the rest wait in the queue; 0 queues every query.
   */
  readonly inlineMs?: number;
  /** Kernel receive buffer of the UDP socket, in bytes. */
  readonly recvBufferSize?: number;
  /** Answers waiting on the recursors, across both transports. */
  readonly maxAsync?: number;
  readonly maxTcpConnections?: number;
  /** TCP connections one client address may hold (100), so one client cannot take all of `maxTcpConnections`. */
  readonly maxTcpPerClient?: number;
  /** A TCP connection idle this long is closed, and so is one whose query has not fully arrived this long after its first byte. */
  readonly tcpIdleTimeoutMs?: number;
  /** Answers a TCP connection may have in flight before it is paused. */
  readonly tcpMaxInFlight?: number;
  /** Use node:dgram even where the runtime has a native UDP socket. */
  readonly portableUdp?: boolean;
  /** The clock for queue ages and answers (ms since the epoch), read once per event-loop turn. */
  readonly now?: () => number;
}

export interface DnsServerStats {
  readonly received: number;
  readonly answered: number;
  /** Dropped because the queue was full (the oldest went) or the query was too old. */
  readonly shed: number;
  /** Handler failures (answered with nothing). */
  readonly errors: number;
  readonly queueHighWater: number;
  readonly tcpConnections: number;
}

export interface DnsListener {
  readonly host: string;
  readonly port: number;
  stats(): DnsServerStats;
  stop(): Promise<void>;
}

/** A DNS listener could not be started; the message says which and why. */
export class DnsListenError extends Error {
  override readonly name = "DnsListenError";
}

function isThenable(r: DnsReply): r is Promise<Uint8Array | null> {
  return r !== null && typeof (r as Promise<unknown>).then === "function";
}

function listenTcp(server: NetServer, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen({ host, port }, () => {
      server.off("error", onError);
      resolve();
    });
  });
}

/** Binds UDP and TCP on one port; with port 0, retries until both get the same free port. */
async function bindPair(
  opts: DnsServerOptions,
  onMessage: (msg: Uint8Array, port: number, address: string) => void,
  onConnection: (s: NetSocket) => void,
): Promise<{ udp: UdpEndpoint; tcp: NetServer; port: number }> {
  const recvBufferSize = opts.recvBufferSize ?? 256 * 1024;
  let lastErr: unknown = null;
  for (let attempt = 0; attempt < (opts.port === 0 ? 20 : 1); attempt++) {
    let udp: UdpEndpoint;
    try {
      udp = await bindUdpSocket({ host: opts.host, port: opts.port, recvBufferSize, portable: opts.portableUdp, onMessage });
    } catch (err) {
      throw new DnsListenError(`DNS: cannot listen on udp ${opts.host}:${opts.port}: ${(err as Error).message}`, { cause: err });
    }
    const port = udp.port;
    const tcp = createServer({ noDelay: true }, onConnection);
    tcp.maxConnections = opts.maxTcpConnections ?? 512;
    try {
      await listenTcp(tcp, opts.host, port);
      keepAccepting(tcp);
      return { udp, tcp, port };
    } catch (err) {
      lastErr = err;
      await udp.close();
    }
  }
  throw new DnsListenError(`DNS: cannot listen on tcp ${opts.host}:${opts.port}: ${(lastErr as Error).message}`, { cause: lastErr });
}

export async function listenDns(opts: DnsServerOptions): Promise<DnsListener> {
  const now = opts.now ?? Date.now;
  const queue = new DatagramQueue(opts.queueLimit ?? 1024);
  const maxAge = opts.maxQueueAgeMs ?? 1000;
  const batch = opts.batch ?? 16;
  const inlineMs = opts.inlineMs ?? 1;
  const maxAsync = opts.maxAsync ?? 4096;
  const inFlightLimit = opts.tcpMaxInFlight ?? 32;
  let received = 0;
  let answered = 0;
  let aged = 0;
  let errors = 0;
  let asyncInFlight = 0;
  let stopped = false;

  const call = (msg: Uint8Array, transport: Transport, address: string, nowMs?: number): DnsReply => {
    try {
      return opts.handle(msg, transport, address, nowMs);
    } catch {
      errors++;
      return null;
    }
  };

  const later = (reply: Promise<Uint8Array | null>, send: (r: Uint8Array) => void): void => {
    if (asyncInFlight >= maxAsync) {
      aged++;
      reply.catch(() => {});
      return;
    }
    asyncInFlight++;
    reply.then(
      (r) => {
        asyncInFlight--;
        if (r && !stopped) send(r);
      },
      () => {
        asyncInFlight--;
        errors++;
      },
    );
  };

  const connections = new Set<NetSocket>();
  const perClient = new PerClientCount(opts.maxTcpPerClient ?? 100);
  const idleMs = opts.tcpIdleTimeoutMs ?? 8000;
  // --- TCP
  const onConnection = (sock: NetSocket) => {
    const address = sock.remoteAddress ?? "";
    const release = perClient.acquire(address);
    if (release === null) {
      sock.destroy();
      return;
    }
    connections.add(sock);
    sock.setNoDelay(true);
    sock.setTimeout(idleMs, () => sock.destroy());
    // Bytes trickled in keep the idle timer from firing: a query must also arrive whole in time.
    let partial: ReturnType<typeof setTimeout> | undefined;
    sock.on("error", () => {});
    sock.on("close", () => {
      clearTimeout(partial);
      connections.delete(sock);
      release();
    });
    let buf: Buffer = Buffer.alloc(0);
    let inFlight = 0;
    const write = (r: Uint8Array) => {
      answered++;
      if (sock.destroyed) return;
      const frame = Buffer.allocUnsafe(2 + r.length);
      frame.writeUInt16BE(r.length, 0);
      frame.set(r, 2);
      if (!sock.write(frame)) sock.pause();
    };
    sock.on("drain", () => {
      if (inFlight < inFlightLimit) sock.resume();
    });
    sock.on("data", (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) break;
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        received++;
        const reply = call(msg, "tcp", address);
        if (reply === null) continue;
        if (!isThenable(reply)) {
          write(reply);
          continue;
        }
        inFlight++;
        if (inFlight >= inFlightLimit) sock.pause();
        later(
          reply.finally(() => {
            inFlight--;
            if (inFlight < inFlightLimit && sock.writableLength === 0 && !sock.destroyed) sock.resume();
          }),
          write,
        );
      }
      if (buf.length === 0) {
        buf = Buffer.alloc(0);
        clearTimeout(partial);
        partial = undefined;
      } else partial ??= setTimeout(() => sock.destroy(), idleMs);
    });
  };

  const sendUdp = (port: number, address: string, r: Uint8Array) => {
    answered++;
    udp.send(r, port, address);
  };
  // The time of this turn of the event loop (`now()`, read once per turn rather than per query): queued
  // queries are stamped with it and the handler answers as of it; NaN until first needed in a turn.
  let turnNow = Number.NaN;
  const clock = () => (turnNow === turnNow ? turnNow : (turnNow = now()));
  const answerUdp = (msg: Uint8Array, port: number, address: string) => {
    const reply = call(msg, "udp", address, clock());
    if (reply === null) return;
    if (reply instanceof Uint8Array) sendUdp(port, address, reply);
    else later(reply, (r) => sendUdp(port, address, r));
  };
  let drainStart = 0;
  const answerQueued = (msg: Uint8Array, port: number, address: string, at: number) => {
    if (drainStart - at > maxAge) aged++;
    else answerUdp(msg, port, address);
  };
  // Queries are answered as they are read while this turn of the event loop
  // has spent less than `inlineMs` on them (the clock is read every
  // INLINE_CHECK answers, not per query); past that (a burst, a slow
  // handler, or more than we can answer) they wait in the drop-oldest queue.
  // The queue is answered in the check phase: `batch` at least, then more
  // while the turn has spent less than `inlineMs`, so a slow handler still
  // lets reads keep up (and the oldest are the ones shed) while a fast one
  // empties the queue in a turn or two and goes back to answering inline.
  let turnStart = -1;
  let inlineOpen = false;
  let inlineCount = 0;
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    turnStart = -1;
    turnNow = Number.NaN;
    if (queue.length === 0) return;
    const start = performance.now();
    drainStart = clock();
    let n = 0;
    while (queue.shift(answerQueued)) {
      if (++n % batch === 0 && performance.now() - start >= inlineMs) break;
    }
    if (queue.length > 0 && !stopped) {
      scheduled = true;
      setImmediate(drain);
    }
  };
  const onMessage = (msg: Uint8Array, port: number, address: string) => {
    if (stopped) return;
    received++;
    if (turnStart < 0) {
      turnStart = performance.now();
      turnNow = Number.NaN;
      inlineOpen = inlineMs > 0;
      inlineCount = 0;
      if (!scheduled) {
        scheduled = true;
        setImmediate(drain);
      }
    }
    if (inlineOpen && queue.length === 0) {
      if (++inlineCount % INLINE_CHECK !== 0 || performance.now() - turnStart < inlineMs) {
        answerUdp(msg, port, address);
        return;
      }
      inlineOpen = false;
    }
    queue.push(msg, port, address, clock());
  };
  const { udp, tcp: tcpServer, port } = await bindPair(opts, onMessage, onConnection);

  return {
    host: opts.host,
    port,
    stats: () => ({
      received,
      answered,
      shed: queue.dropped + aged,
      errors,
      queueHighWater: queue.highWater,
      tcpConnections: connections.size,
    }),
    async stop() {
      if (stopped) return;
      stopped = true;
      queue.clear();
      await udp.close();
      for (const c of connections) c.destroy();
      await new Promise<void>((resolve) => tcpServer.close(() => resolve()));
    },
  };
}
