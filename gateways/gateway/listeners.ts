/**
 * The front door of a gateway: one TCP listener per address (the LAN address,
 * and the WAN address when it differs), a cap on concurrent connections that
 * says so in the log when it is hit, and a drain that stops accepting, lets
 * open connections finish, and cuts what is left at a deadline.
 */
import { createServer, type AddressInfo, type Server, type Socket } from "node:net";
import { type MeshLogger, silentLogger } from "../mesh/log.ts";
import type { GatewayMetrics } from "./metrics.ts";

export interface BindAddress {
  readonly host: string;
  readonly port: number;
}

export interface GatewayListenersOptions {
  readonly binds: readonly BindAddress[];
  /** Concurrent client connections allowed; more are closed at once. */
  readonly maxConnections: number;
  readonly metrics: GatewayMetrics;
  readonly logger?: MeshLogger;
  /** Takes over an admitted connection. */
  readonly handle: (socket: Socket) => void;
  /** Sockets keep one direction open after the other closed (a splice passes half-closes on). */
  readonly allowHalfOpen?: boolean;
}

const CAP_LOG_EVERY_MS = 10_000;

export class GatewayListeners {
  private readonly o: GatewayListenersOptions;
  private readonly log: MeshLogger;
  private readonly servers: Server[] = [];
  private lastCapLog = 0;
  private capSinceLog = 0;
  draining = false;

  constructor(o: GatewayListenersOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
  }

  /** Bound ports, in the order of `binds`. */
  get ports(): number[] {
    return this.servers.map((s) => (s.address() as AddressInfo | null)?.port ?? 0);
  }

  async start(): Promise<void> {
    const seen = new Set<string>();
    for (const b of this.o.binds) {
      const key = `${b.host}:${b.port}`;
      // Port 0 asks for a fresh port each time, so only fixed ports can repeat.
      if (b.port !== 0 && seen.has(key)) continue;
      seen.add(key);
      const server = createServer({ allowHalfOpen: this.o.allowHalfOpen ?? false, noDelay: true }, (s) => this.accept(s));
      await new Promise<void>((resolve, reject) => {
        server.once("error", reject);
        server.listen(b.port, b.host, () => {
          server.off("error", reject);
          resolve();
        });
      });
      this.servers.push(server);
    }
  }

  private accept(s: Socket): void {
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
    s.on("error", () => s.destroy());
    this.o.handle(s);
  }

  private closeServers(): Promise<void> {
    return Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r())))).then(() => {});
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
