/**
 * A TcpConn (src/runtime/tcp.ts) seen as the part of a node socket the HTTP
 * pool and its Reader use: `data`/`end`/`close`/`error`/`drain` events,
 * `write` with back-pressure, pause/resume, destroy. It lets the pool ride
 * the runtime's own TLS sockets where it has them (far less CPU per small
 * request than its node:tls streams) without a second HTTP/1.1 client.
 */
import { EventEmitter } from "node:events";
import type { Duplex } from "node:stream";
import type { TcpConn } from "../../src/runtime/tcp.ts";

export class ConnSocket extends EventEmitter {
  readonly #conn: TcpConn;
  #paused = false;
  destroyed = false;
  writableEnded = false;

  constructor(conn: TcpConn) {
    super();
    this.#conn = conn;
    conn.handle({
      data: (c) => this.emit("data", c),
      end: () => this.emit("end"),
      drain: () => this.emit("drain"),
      close: (err) => {
        this.destroyed = true;
        if (err) this.emit("error", err);
        this.emit("close");
      },
    });
  }

  /** The Duplex view the pool's Reader and write() take (only the members above are used). */
  get duplex(): Duplex & { setNoDelay(): void } {
    return this as unknown as Duplex & { setNoDelay(): void };
  }

  write(chunk: Uint8Array | string): boolean {
    return this.#conn.write(typeof chunk === "string" ? new TextEncoder().encode(chunk) : chunk);
  }

  end(): void {
    this.writableEnded = true;
    this.#conn.end();
  }

  destroy(): void {
    this.#conn.destroy();
  }

  pause(): void {
    this.#paused = true;
    this.#conn.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#conn.resume();
  }

  isPaused(): boolean {
    return this.#paused;
  }

  /** The runtime's sockets already send at once. */
  setNoDelay(): void {}
}
