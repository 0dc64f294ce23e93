/**
 * UDP sockets per runtime: Bun's native socket (Bun.udpSocket) where it
 * exists, node:dgram elsewhere. Measured with a bare DNS responder under Bun
 * (bench/dns), the native socket costs about a sixth less CPU per datagram
 * than Bun's node:dgram. Deno's Deno.listenDatagram is still unstable, so Deno
 * uses node:dgram.
 *
 * With node:dgram, sends go through a lookup function even for IP literals
 * (Node's default defers every send by a tick through dns.lookup); answers go
 * to the address a datagram came from, always an IP, so a synchronous lookup
 * does it.
 */
import { createSocket, type RemoteInfo, type Socket } from "node:dgram";
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { isIP } from "node:net";

export interface UdpOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Kernel receive buffer in bytes (node:dgram only; Bun's native socket keeps the system default). */
  readonly recvBufferSize?: number;
  /** Use node:dgram even where a native socket exists (for comparisons). */
  readonly portable?: boolean;
  onMessage(msg: Uint8Array, port: number, address: string): void;
}

export interface UdpEndpoint {
  readonly port: number;
  /** "native" or "node:dgram": which implementation serves this socket. */
  readonly kind: string;
  /** Sends one datagram; failures (unreachable peers, EMSGSIZE) concern that datagram only and are dropped. */
  send(data: Uint8Array, port: number, address: string): void;
  close(): Promise<void>;
}

interface BunUdpSocket {
  readonly port: number;
  send(data: Uint8Array, port: number, address: string): boolean;
  close(): void;
}
interface BunUdpGlobal {
  udpSocket(options: {
    hostname: string;
    port: number;
    socket: {
      data(socket: BunUdpSocket, data: Uint8Array, port: number, address: string): void;
      error?(socket: BunUdpSocket, error: Error): void;
    };
  }): Promise<BunUdpSocket>;
}

export async function bindUdp(opts: UdpOptions): Promise<UdpEndpoint> {
  const bun = (globalThis as { Bun?: Partial<BunUdpGlobal> }).Bun;
  if (!opts.portable && bun && typeof bun.udpSocket === "function") return bindBun(bun as BunUdpGlobal, opts);
  return bindNode(opts);
}

async function bindBun(bun: BunUdpGlobal, opts: UdpOptions): Promise<UdpEndpoint> {
  const onMessage = opts.onMessage;
  const sock = await bun.udpSocket({
    hostname: opts.host,
    port: opts.port,
    socket: {
      data: (_s, data, port, address) => onMessage(data, port, address),
      error: () => {},
    },
  });
  return {
    port: sock.port,
    kind: "native",
    send(data, port, address) {
      try {
        sock.send(data, port, address);
      } catch {
        // One answer lost, as with a failed sendto.
      }
    },
    async close() {
      sock.close();
    },
  };
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** The last address `literalLookup` saw and its family: answers mostly go back to the few clients that ask. */
let lastHost = "";
let lastFamily = 0;

/** IP literals answer at once; anything else goes to the resolver. */
function literalLookup(host: string, options: unknown, callback?: LookupCallback): void {
  const cb = (typeof options === "function" ? options : callback) as LookupCallback;
  if (host === lastHost) {
    cb(null, host, lastFamily);
    return;
  }
  const family = isIP(host);
  if (family !== 0) {
    lastHost = host;
    lastFamily = family;
  }
  if (family !== 0) {
    cb(null, host, family);
    return;
  }
  dnsLookup(host, typeof options === "object" && options !== null ? options : {}, cb as never);
}

function bindNode(opts: UdpOptions): Promise<UdpEndpoint> {
  return new Promise((resolve, reject) => {
    const sock: Socket = createSocket({ type: isIP(opts.host) === 6 ? "udp6" : "udp4", recvBufferSize: opts.recvBufferSize, lookup: literalLookup as never });
    const onError = (err: Error) => {
      sock.close();
      reject(err);
    };
    sock.once("error", onError);
    sock.bind(opts.port, opts.host, () => {
      sock.off("error", onError);
      sock.on("error", () => {
        // Send failures (EMSGSIZE, unreachable peers) concern one answer, not the listener.
      });
      const onMessage = opts.onMessage;
      sock.on("message", (msg: Buffer, rinfo: RemoteInfo) => onMessage(msg, rinfo.port, rinfo.address));
      resolve({
        port: sock.address().port,
        kind: "node:dgram",
        send(data, port, address) {
          sock.send(data, port, address);
        },
        close() {
          return new Promise<void>((done) => sock.close(() => done()));
        },
      });
    });
  });
}
