/**
 * The front door of a gateway: one TCP listener per address (the LAN address,
 * and the WAN address when it differs), a cap on concurrent connections that
 * says so in the log when it is hit, and a drain that stops accepting, lets
 * open connections finish, and cuts what is left at a deadline.
 */
import { createServer, type AddressInfo, type Socket } from "node:net";
import { listenTcp, type TcpConn } from "../../src/runtime/tcp.ts";
import { type MeshLogger, silentLogger } from "../mesh/log.ts";
import type { RefusableConn } from "./accept.ts";
import type { GatewayMetrics } from "./metrics.ts";

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

/** A bound port that stops accepting on `close()` (open connections stay). */
export interface BoundListener {
  readonly port: number;
  close(): Promise<void>;
}

/** Binds one address and hands every accepted connection to `accept`. */
export type Listen<C> = (bind: BindAddress, accept: (conn: C) => void) => Promise<BoundListener>;

/** node:net sockets, for gateways that go on to terminate TLS on them. */
export const listenSockets: Listen<Socket> = (b, accept) => {
  const server = createServer({ noDelay: true }, (s) => {
    s.on("error", () => s.destroy());
    accept(s);
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(b.port, b.host, () => {
      server.off("error", reject);
      resolve({ port: (server.address() as AddressInfo).port, close: () => new Promise<void>((r) => server.close(() => r())) });
    });
  });
};

/** TcpConns (src/runtime/tcp.ts), half-open, for gateways that only relay bytes. */
export const listenConns: Listen<TcpConn> = (b, accept) => listenTcp({ hostname: b.host, port: b.port, accept });

export interface GatewayListenersOptions<C extends RefusableConn> {
  readonly binds: readonly BindAddress[];
  /** Concurrent client connections allowed; more are closed at once. */
  readonly maxConnections: number;
  readonly metrics: GatewayMetrics;
  readonly logger?: MeshLogger;
  readonly listen: Listen<C>;
  /** Takes over an admitted connection. */
  readonly handle: (conn: C) => void;
}

const CAP_LOG_EVERY_MS = 10_000;

export class GatewayListeners<C extends RefusableConn> {
  private readonly o: GatewayListenersOptions<C>;
  private readonly log: MeshLogger;
  private readonly servers: BoundListener[] = [];
  private lastCapLog = 0;
  private capSinceLog = 0;
  draining = false;

  constructor(o: GatewayListenersOptions<C>) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
  }

  /** Bound ports, in the order of `binds`. */
  get ports(): number[] {
    return this.servers.map((s) => s.port);
  }

  async start(): Promise<void> {
    const seen = new Set<string>();
    for (const b of this.o.binds) {
      const key = `${b.host}:${b.port}`;
      // Port 0 asks for a fresh port each time, so only fixed ports can repeat.
      if (b.port !== 0 && seen.has(key)) continue;
      seen.add(key);
      this.servers.push(await this.o.listen(b, (c) => this.accept(c)));
    }
  }

  private accept(s: C): void {
    const m = this.o.metrics;
    if (this.draining) {
      s.destroy();
      return;
    }
    if (m.open.size >= this.o.maxConnections) {
      m.capHits++;
      this.capSinceLog++;
      const now = Date.now();
      if (now - this.lastCapLog >= CAP_LOG_EVERY_MS) {
        this.log.warn(`connection cap of ${this.o.maxConnections} reached: closed ${this.capSinceLog} new connection(s) from ${s.remoteAddress}:${s.remotePort} and others (raise -max-connections to allow more)`);
        this.lastCapLog = now;
        this.capSinceLog = 0;
      }
      s.destroy();
      return;
    }
    this.o.handle(s);
  }

  private closeServers(): Promise<void> {
    return Promise.all(this.servers.map((s) => s.close())).then(() => {});
  }

  /**
   * Stops accepting and waits up to `deadlineMs` for open connections to end
   * by themselves, then cuts the rest. Resolves with how many were cut.
   */
  async drain(deadlineMs: number): Promise<number> {
    this.draining = true;
    const closing = this.closeServers();
    const open = this.o.metrics.open;
    const t0 = Date.now();
    if (open.size > 0) this.log.info(`draining ${open.size} open connection(s) (deadline ${deadlineMs} ms)`);
    while (open.size > 0 && Date.now() - t0 < deadlineMs) await new Promise((r) => setTimeout(r, 50));
    const cut = open.size;
    for (const s of [...open]) s.destroy();
    await closing;
    return cut;
  }
}
