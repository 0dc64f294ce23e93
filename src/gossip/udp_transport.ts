/**
 * Gossip over real sockets: one UDP socket for packets and a TCP listener on
 * the same port for streams (push-pull, TCP pings, messages too large for a
 * datagram). A stream is one exchange: a length-prefixed request frame, a
 * length-prefixed answer frame (length 0 = no answer), then close.
 * The UDP socket comes from src/runtime (Bun's native socket, node:dgram
 * elsewhere); node:net behaves the same on Bun, Deno and Node for this.
 */
import net from "node:net";
import { lookup } from "node:dns/promises";
import { networkInterfaces } from "node:os";
import { keepAccepting } from "../runtime/keep_accepting.ts";
import { type UdpEndpoint, bindUdp } from "../runtime/udp.ts";
import { FrameAssembler } from "../structs/frames.ts";
import type { Address, PacketHandler, StreamDone, StreamHandler, Transport } from "./transport.ts";
import { parseHostPort } from "./transport.ts";

export class TransportError extends Error {
  override readonly name = "TransportError";
}

/** Streams larger than this are cut off (a full state of ~10k members fits easily). */
const MAX_FRAME = 16 << 20;
const INBOUND_IDLE_MS = 10_000;

export interface UdpTransportOptions {
  readonly bindAddr: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  readonly bindPort: number;
  readonly advertiseAddr?: string;
  readonly advertisePort?: number;
}

function frame(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + data.length);
  new DataView(out.buffer).setUint32(0, data.length);
  out.set(data, 4);
  return out;
}

/** Collects the one length-prefixed frame a stream carries, in time linear in its size. */
class FrameReader {
  private readonly frames = new FrameAssembler({ maxBytes: MAX_FRAME });

  push(chunk: Uint8Array): Uint8Array | null | "too-large" {
    try {
      return this.frames.push(chunk)[0] ?? null;
    } catch {
      return "too-large";
    }
  }
}

function defaultAdvertise(bindAddr: string): string {
  if (bindAddr !== "0.0.0.0" && bindAddr !== "::") return bindAddr;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return i.address;
  }
  return "127.0.0.1";
}

/** Inbound datagrams go to whoever listens; before listen() they are dropped. */
interface PacketSink {
  handler: PacketHandler | null;
  closed: boolean;
}

export class UdpTransport implements Transport {
  readonly local: Address;
  private readonly udp: UdpEndpoint;
  private readonly tcp: net.Server;
  private readonly sink: PacketSink;
  private readonly open = new Set<net.Socket>();
  private onStream: StreamHandler | null = null;
  private closed = false;

  private constructor(udp: UdpEndpoint, sink: PacketSink, tcp: net.Server, local: Address) {
    this.udp = udp;
    this.sink = sink;
    this.tcp = tcp;
    this.local = local;
    tcp.on("connection", (s) => this.accept(s));
    tcp.on("error", () => {});
  }

  static async bind(o: UdpTransportOptions): Promise<UdpTransport> {
    for (let attempt = 0; ; attempt++) {
      const sink: PacketSink = { handler: null, closed: false };
      let udp: UdpEndpoint;
      try {
        udp = await bindUdp({
          host: o.bindAddr,
          port: o.bindPort,
          // Decoded messages keep views into the datagram (member metadata), so take our own
          // copy: a native socket may reuse its receive buffer.
          onMessage: (msg, port, address) => {
            if (!sink.closed && sink.handler) sink.handler(new Uint8Array(msg), { addr: address, port });
          },
        });
      } catch (e) {
        throw new TransportError(`Failed to bind UDP ${o.bindAddr}:${o.bindPort}: ${(e as Error).message}`);
      }
      const port = udp.port;
      const tcp = net.createServer();
      const err = await new Promise<Error | null>((resolve) => {
        tcp.once("error", resolve);
        tcp.listen(port, o.bindAddr, () => {
          tcp.off("error", resolve);
          resolve(null);
        });
      });
      if (!err) {
        keepAccepting(tcp);
        const local = { addr: o.advertiseAddr ?? defaultAdvertise(o.bindAddr), port: o.advertisePort ?? port };
        return new UdpTransport(udp, sink, tcp, local);
      }
      await udp.close();
      // With an ephemeral port the TCP side may collide: try another.
      if (o.bindPort !== 0 || attempt >= 10) throw new TransportError(`Failed to bind TCP ${o.bindAddr}:${port}: ${err.message}`);
    }
  }

  listen(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.sink.handler = onPacket;
    this.onStream = onStream;
  }

  sendPacket(to: Address, data: Uint8Array): void {
    if (this.closed) return;
    this.udp.send(data, to.port, to.addr);
  }

  sendStream(to: Address, data: Uint8Array, timeoutMs: number, done: StreamDone): void {
    if (this.closed) return done(new TransportError("Transport is closed"), null);
    let finished = false;
    const reader = new FrameReader();
    const s = net.connect({ host: to.addr, port: to.port });
    this.open.add(s);
    const finish = (err: Error | null, answer: Uint8Array | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      this.open.delete(s);
      s.destroy();
      done(err, answer);
    };
    const timer = setTimeout(() => finish(new TransportError(`Stream to ${to.addr}:${to.port} timed out after ${timeoutMs}ms`), null), timeoutMs);
    s.on("connect", () => {
      s.write(frame(data));
    });
    s.on("data", (chunk: Uint8Array) => {
      const f = reader.push(chunk);
      if (f === "too-large") return finish(new TransportError("Stream answer is too large"), null);
      if (f) finish(null, f.length === 0 ? null : f.slice());
    });
    s.on("error", (e) => finish(new TransportError(`Stream to ${to.addr}:${to.port} failed: ${e.message}`), null));
    s.on("close", () => finish(new TransportError(`Stream to ${to.addr}:${to.port} closed without an answer`), null));
  }

  private accept(s: net.Socket): void {
    if (this.closed) {
      s.destroy();
      return;
    }
    this.open.add(s);
    const reader = new FrameReader();
    let handled = false;
    const from = { addr: s.remoteAddress ?? "", port: s.remotePort ?? 0 };
    // A broken frame reaches the handler as an empty message, so it is counted as malformed.
    const deliver = (f: Uint8Array): void => {
      if (handled) return;
      handled = true;
      const h = this.onStream;
      if (!h) return void s.destroy();
      h(f, from, (answer) => {
        if (s.destroyed) return;
        s.end(frame(answer ?? new Uint8Array(0)));
      });
    };
    s.setTimeout(INBOUND_IDLE_MS, () => {
      deliver(new Uint8Array(0));
      s.destroy();
    });
    s.on("close", () => this.open.delete(s));
    s.on("error", () => s.destroy());
    let received = false;
    s.on("end", () => {
      if (handled) return;
      // A connection closed without a byte carried no message (the listener watchdog's probe, a port scan).
      if (received) deliver(new Uint8Array(0));
      s.destroy();
    });
    s.on("data", (chunk: Uint8Array) => {
      received = true;
      if (handled) return;
      const f = reader.push(chunk);
      if (f === "too-large") {
        deliver(new Uint8Array(0));
        return void s.destroy();
      }
      if (f) deliver(f.slice());
    });
  }

  async resolve(target: string, defaultPort: number): Promise<Address[]> {
    const { host, port } = parseHostPort(target, defaultPort);
    if (net.isIP(host)) return [{ addr: host, port }];
    const found = await lookup(host, { all: true });
    return found.map((f) => ({ addr: f.address, port }));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.sink.closed = true;
    for (const s of this.open) s.destroy();
    this.open.clear();
    await Promise.all([this.udp.close(), new Promise<void>((r) => this.tcp.close(() => r()))]);
  }
}
