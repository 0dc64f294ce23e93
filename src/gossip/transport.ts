/**
 * How gossip packets and streams travel. The core sees only this interface:
 * UDP+TCP sockets implement it (udp_transport.ts), the simulator implements it
 * in memory (sim/network.ts), and federation/wan_gossip.ts carries the WAN pool
 * over NATS subjects.
 * Callbacks rather than promises keep the simulator deterministic.
 */

export interface Address {
  readonly addr: string;
  readonly port: number;
}

export type PacketHandler = (data: Uint8Array, from: Address) => void;

/**
 * Handles one inbound stream request. `reply(null)` closes without an answer
 * (one-way messages); `reply(bytes)` answers the exchange.
 */
export type StreamHandler = (data: Uint8Array, from: Address, reply: (answer: Uint8Array | null) => void) => void;

export type StreamDone = (err: Error | null, answer: Uint8Array | null) => void;

export interface Transport {
  /** The address other members reach us at. */
  readonly local: Address;
  /** Fire and forget; delivery is best effort. */
  sendPacket(to: Address, data: Uint8Array): void;
  /** A reliable request/response exchange (push-pull, TCP ping, large messages). */
  sendStream(to: Address, data: Uint8Array, timeoutMs: number, done: StreamDone): void;
  /** Starts delivering inbound traffic to the handlers. */
  listen(onPacket: PacketHandler, onStream: StreamHandler): void;
  /** Resolves a join target ("host" or "host:port") to addresses; the default port applies when none is given. */
  resolve(target: string, defaultPort: number): Promise<Address[]>;
  close(): Promise<void>;
}

export function addressKey(a: Address): string {
  return a.addr.includes(":") ? `[${a.addr}]:${a.port}` : `${a.addr}:${a.port}`;
}

/** Splits "host", "host:port", "[v6]" or "[v6]:port"; throws RangeError on garbage. */
export function parseHostPort(target: string, defaultPort: number): { host: string; port: number } {
  const t = target.trim();
  let host = t;
  let port = defaultPort;
  if (t.startsWith("[")) {
    const end = t.indexOf("]");
    if (end < 0) throw new RangeError(`Invalid address: "${target}"`);
    host = t.slice(1, end);
    const rest = t.slice(end + 1);
    if (rest.startsWith(":")) port = Number(rest.slice(1));
    else if (rest !== "") throw new RangeError(`Invalid address: "${target}"`);
  } else {
    const i = t.lastIndexOf(":");
    if (i >= 0 && t.indexOf(":") === i) {
      host = t.slice(0, i);
      port = Number(t.slice(i + 1));
    }
  }
  if (host === "" || !Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`Invalid address: "${target}"`);
  return { host, port };
}
