/**
 * WAN gossip over NATS subjects, for datacenters whose servers cannot reach
 * each other by UDP/TCP on the Serf WAN port (`"federation": {"wan_gossip":
 * "nats"}`). The WAN pool, its protocol, encryption and timings are
 * unchanged; only the carrier differs: a member is named by its advertised
 * WAN address and port as usual, and that pair is its subject
 *
 *   consulate.wan-gossip.packet.<key>   fire-and-forget packets (probes, gossip)
 *   consulate.wan-gossip.stream.<key>   request/reply exchanges (push-pull, TCP-style pings)
 *
 * where `<key>` is the address in hex and the port. A server listens on its
 * own datacenter's NATS; it sends on its own NATS and on the link to every
 * other datacenter's NATS (the federation links), so a message reaches its
 * member wherever it lives, and nowhere else (only that member subscribes).
 * Links need the other datacenters' NATS URLs before gossip has met, so
 * `federation.datacenters` names them. Join targets (`-join-wan`,
 * `-retry-join-wan`) are members' advertised WAN `address:port`.
 */
import type { Msg, NatsConnection, Subscription } from "@nats-io/transport-node";
import { type Address, type PacketHandler, parseHostPort, type StreamDone, type StreamHandler, type Transport } from "../src/gossip/transport.ts";

const PREFIX = "consulate.wan-gossip";
/** Largest message taken (NATS's default max_payload is 1 MiB). */
const MAX_MESSAGE = 1 << 20;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A subject token for an address: its text in hex (any host name or IPv6 literal fits), then the port. */
export function addressToken(a: Address): string {
  let hex = "";
  for (const b of encoder.encode(a.addr)) hex += b.toString(16).padStart(2, "0");
  return `${hex}-${a.port}`;
}

/** `[addr length][addr][port u16][data]`: who sent it travels with it (NATS has no source address). */
function envelope(from: Address, data: Uint8Array): Uint8Array {
  const addr = encoder.encode(from.addr);
  const out = new Uint8Array(1 + addr.length + 2 + data.length);
  out[0] = addr.length;
  out.set(addr, 1);
  out[1 + addr.length] = from.port >> 8;
  out[2 + addr.length] = from.port & 0xff;
  out.set(data, 3 + addr.length);
  return out;
}

/** The sender and the payload, or null when the message is not one of ours. */
export function openEnvelope(body: Uint8Array): { from: Address; data: Uint8Array } | null {
  if (body.length < 3 || body.length > MAX_MESSAGE) return null;
  const n = body[0]!;
  if (n === 0 || body.length < 3 + n) return null;
  const addr = decoder.decode(body.subarray(1, 1 + n));
  const port = (body[1 + n]! << 8) | body[2 + n]!;
  return { from: { addr, port }, data: body.slice(3 + n) };
}

export class NatsGossipTransport implements Transport {
  readonly local: Address;
  private own: NatsConnection | null = null;
  private others: () => readonly NatsConnection[] = () => [];
  private subs: Subscription[] = [];
  private onPacket: PacketHandler | null = null;
  private onStream: StreamHandler | null = null;
  private closed = false;
  /** Messages dropped as not ours (malformed or oversized), for tests and metrics. */
  refused = 0;

  constructor(local: Address) {
    if (encoder.encode(local.addr).length > 255) throw new RangeError(`WAN address "${local.addr}" is too long`);
    this.local = local;
  }

  /**
   * Starts carrying gossip: `own` is this datacenter's NATS (where this
   * member listens), `others` the connections to the other datacenters'
   * NATS that are up now. Until then packets are dropped and streams fail.
   */
  attach(own: NatsConnection, others: () => readonly NatsConnection[]): void {
    if (this.closed || this.own) return;
    this.own = own;
    this.others = others;
    const token = addressToken(this.local);
    this.subs.push(
      own.subscribe(`${PREFIX}.packet.${token}`, { callback: (err, msg) => void (err || this.packet(msg)) }),
      own.subscribe(`${PREFIX}.stream.${token}`, { callback: (err, msg) => void (err || this.stream(msg)) }),
    );
  }

  listen(onPacket: PacketHandler, onStream: StreamHandler): void {
    this.onPacket = onPacket;
    this.onStream = onStream;
  }

  private connections(): NatsConnection[] {
    if (this.closed || !this.own) return [];
    return [this.own, ...this.others()].filter((nc) => !nc.isClosed());
  }

  sendPacket(to: Address, data: Uint8Array): void {
    const body = envelope(this.local, data);
    const subject = `${PREFIX}.packet.${addressToken(to)}`;
    for (const nc of this.connections()) {
      try {
        nc.publish(subject, body);
      } catch {
        // That connection is going away; gossip tolerates a lost packet.
      }
    }
  }

  sendStream(to: Address, data: Uint8Array, timeoutMs: number, done: StreamDone): void {
    const conns = this.connections();
    if (conns.length === 0) return done(new Error(this.closed ? "Transport is closed" : "WAN gossip over NATS is not connected yet"), null);
    const body = envelope(this.local, data);
    const subject = `${PREFIX}.stream.${addressToken(to)}`;
    let pending = conns.length;
    let finished = false;
    // Only the connection to the member's own NATS finds a listener; the others answer "no responders" at once.
    for (const nc of conns) {
      nc.request(subject, body, { timeout: timeoutMs }).then(
        (msg) => {
          if (finished) return;
          finished = true;
          done(null, msg.data.length === 0 ? null : msg.data.slice());
        },
        (err: unknown) => {
          if (finished || --pending > 0) return;
          finished = true;
          done(new Error(`Stream to ${to.addr}:${to.port} over NATS failed: ${(err as Error).message}`), null);
        },
      );
    }
  }

  private packet(msg: Msg): void {
    const m = openEnvelope(msg.data);
    if (!m) return void this.refused++;
    this.onPacket?.(m.data, m.from);
  }

  private stream(msg: Msg): void {
    const m = openEnvelope(msg.data);
    if (!m || !msg.reply) return void this.refused++;
    const h = this.onStream;
    if (!h) return;
    h(m.data, m.from, (answer) => {
      try {
        msg.respond(answer ?? new Uint8Array(0));
      } catch {
        // Our connection closed; the asker times out.
      }
    });
  }

  async resolve(target: string, defaultPort: number): Promise<Address[]> {
    // No lookup: a member is reached by the address it advertises, spelled as given.
    const { host, port } = parseHostPort(target, defaultPort);
    return [{ addr: host, port }];
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }
}
