/**
 * Whether a JetStreamLog's NATS connection is up, from the connection's
 * status events; appends hold for a while after it drops (Consul's RPC hold
 * timeout) and fail after that.
 */
import type { NatsConnection } from "@nats-io/transport-node";

export class ConnectionWatch {
  #connected = true;
  /** When the connection was lost (ms since epoch), 0 while connected. */
  #disconnectedAt = 0;
  readonly #stop: () => void;

  /** Follows `nc`'s status until `stop`; `onReconnect` runs each time the connection is back. */
  constructor(nc: NatsConnection, onReconnect: () => void) {
    const it = nc.status()[Symbol.asyncIterator]();
    this.#stop = () => void it.return?.();
    void (async () => {
      for (;;) {
        const r = await it.next();
        if (r.done === true) return;
        if (r.value.type === "disconnect") {
          this.#connected = false;
          this.#disconnectedAt = Date.now();
        } else if (r.value.type === "reconnect") {
          this.#connected = true;
          this.#disconnectedAt = 0;
          onReconnect();
        }
      }
    })().catch(() => undefined);
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** Whether the connection has been down for `holdMs` or longer. */
  heldTooLong(holdMs: number): boolean {
    return !this.#connected && Date.now() - this.#disconnectedAt >= holdMs;
  }

  stop(): void {
    this.#stop();
  }
}
