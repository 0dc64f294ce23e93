/**
 * Forwarding to upstream resolvers (`recursors`). UDP exchanges share one
 * socket per address family, matched by a fresh 16-bit ID; pending exchanges
 * are bounded and the oldest gives way when the bound is reached. TCP clients
 * are forwarded over TCP, as Consul does.
 */
import { createSocket, type Socket } from "node:dgram";
import { connect, isIP } from "node:net";
import dnsPacket from "dns-packet";
import { splitHostPort, type RecursorStrategy } from "./config.ts";
import type { Rr } from "./message.ts";
import { parseIp } from "./names.ts";
import { Rcode, RType } from "./wire.ts";

export interface Recursor {
  /**
   * Forwards a query; resolves with the first upstream reply whose rcode is
   * NOERROR or NXDOMAIN (or that is truncated), with the client's ID, or null
   * when every upstream failed.
   */
  forward(query: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | null>;
  /** A/AAAA/CNAME records for a name outside our domains (CNAME chasing). */
  resolve(name: string): Promise<Rr[]>;
  close(): void;
}

export interface UpstreamOptions {
  readonly servers: readonly string[];
  readonly timeoutMs: number;
  readonly strategy: RecursorStrategy;
  readonly random?: () => number;
  /** Exchanges in flight before the oldest is abandoned. */
  readonly maxPending?: number;
}

interface Pending {
  readonly key: number;
  readonly host: string;
  readonly port: number;
  readonly resolve: (reply: Uint8Array | null) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}

export class UpstreamRecursor implements Recursor {
  private readonly opts: UpstreamOptions;
  private readonly random: () => number;
  private readonly maxPending: number;
  private readonly sockets = new Map<4 | 6, Socket>();
  /** Insertion-ordered, so the first entry is the oldest exchange. */
  private readonly pending = new Map<number, Pending>();
  private closed = false;

  constructor(opts: UpstreamOptions) {
    this.opts = opts;
    this.random = opts.random ?? Math.random;
    this.maxPending = opts.maxPending ?? 4096;
  }

  private order(): string[] {
    const list = [...this.opts.servers];
    if (this.opts.strategy === "random") {
      for (let i = list.length - 1; i > 0; i--) {
        const j = Math.floor(this.random() * (i + 1));
        [list[i], list[j]] = [list[j]!, list[i]!];
      }
    }
    return list;
  }

  private socket(family: 4 | 6): Socket {
    let s = this.sockets.get(family);
    if (s) return s;
    s = createSocket(family === 4 ? "udp4" : "udp6");
    s.on("message", (msg: Buffer, rinfo) => {
      if (msg.length < 12) return;
      const key = (family << 16) | msg.readUInt16BE(0);
      const p = this.pending.get(key);
      if (!p || p.port !== rinfo.port || p.host !== rinfo.address) return;
      this.pending.delete(key);
      clearTimeout(p.timer);
      p.resolve(new Uint8Array(msg));
    });
    s.on("error", () => {});
    s.unref();
    this.sockets.set(family, s);
    return s;
  }

  private udpExchange(query: Uint8Array, server: string): Promise<Uint8Array | null> {
    if (this.closed) return Promise.resolve(null);
    const { host, port } = splitHostPort(server);
    const family = isIP(host) === 6 ? 6 : 4;
    let id = 0;
    let key = 0;
    for (let tries = 0; tries < 64; tries++) {
      id = Math.floor(this.random() * 65536) & 0xffff;
      key = (family << 16) | id;
      if (!this.pending.has(key)) break;
    }
    if (this.pending.has(key)) return Promise.resolve(null);
    while (this.pending.size >= this.maxPending) {
      const [oldestKey, oldest] = this.pending.entries().next().value as [number, Pending];
      this.pending.delete(oldestKey);
      clearTimeout(oldest.timer);
      oldest.resolve(null);
    }
    const out = new Uint8Array(query);
    out[0] = id >> 8;
    out[1] = id & 0xff;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        if (this.pending.get(key)?.timer === timer) this.pending.delete(key);
        resolve(null);
      }, this.opts.timeoutMs);
      this.pending.set(key, { key, host, port, resolve, timer });
      this.socket(family).send(out, port, host, (err) => {
        if (err && this.pending.get(key)?.timer === timer) {
          this.pending.delete(key);
          clearTimeout(timer);
          resolve(null);
        }
      });
    });
  }

  private tcpExchange(query: Uint8Array, server: string): Promise<Uint8Array | null> {
    const { host, port } = splitHostPort(server);
    return new Promise((resolve) => {
      const sock = connect({ host, port });
      let buf = Buffer.alloc(0);
      let done = false;
      const finish = (reply: Uint8Array | null) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        sock.destroy();
        resolve(reply);
      };
      const timer = setTimeout(() => finish(null), this.opts.timeoutMs);
      sock.on("error", () => finish(null));
      sock.on("close", () => finish(null));
      sock.on("connect", () => {
        const frame = Buffer.alloc(2 + query.length);
        frame.writeUInt16BE(query.length, 0);
        frame.set(query, 2);
        sock.write(frame);
      });
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      });
    });
  }

  async forward(query: Uint8Array, transport: "udp" | "tcp"): Promise<Uint8Array | null> {
    if (query.length < 12) return null;
    const clientId = (query[0]! << 8) | query[1]!;
    for (const server of this.order()) {
      const reply = transport === "tcp" ? await this.tcpExchange(query, server) : await this.udpExchange(query, server);
      if (!reply || reply.length < 12) continue;
      const rcode = reply[3]! & 0xf;
      if (rcode !== Rcode.NOERROR && rcode !== Rcode.NXDOMAIN) continue;
      const out = new Uint8Array(reply);
      out[0] = clientId >> 8;
      out[1] = clientId & 0xff;
      return out;
    }
    return null;
  }

  async resolve(name: string): Promise<Rr[]> {
    const query = new Uint8Array(dnsPacket.encode({ type: "query", id: 0, flags: dnsPacket.RECURSION_DESIRED, questions: [{ type: "A", name: name.replace(/\.$/, "") }] }));
    for (const server of this.order()) {
      const reply = await this.udpExchange(query, server);
      if (!reply) continue;
      try {
        return toRecords(dnsPacket.decode(Buffer.from(reply)).answers ?? []);
      } catch {
        continue;
      }
    }
    return [];
  }

  close(): void {
    this.closed = true;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.pending.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
  }
}

function toRecords(answers: readonly dnsPacket.Answer[]): Rr[] {
  const out: Rr[] = [];
  for (const a of answers) {
    const name = a.name.endsWith(".") ? a.name : `${a.name}.`;
    const ttl = "ttl" in a && typeof a.ttl === "number" ? a.ttl : 0;
    if ((a.type === "A" || a.type === "AAAA") && typeof a.data === "string") {
      const ip = parseIp(a.data);
      if (ip) out.push(ip.length === 4 ? { type: RType.A, name, ttl, ip } : { type: RType.AAAA, name, ttl, ip });
    } else if (a.type === "CNAME" && typeof a.data === "string") {
      out.push({ type: RType.CNAME, name, ttl, target: a.data.endsWith(".") ? a.data : `${a.data}.` });
    }
  }
  return out;
}
