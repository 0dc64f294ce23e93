/**
 * The membership (SWIM) messages and their binary encoding. Every message
 * starts with its type byte; a packet body is a count followed by
 * length-prefixed messages, so probes and acks carry piggybacked gossip.
 */
import { Reader, WireDecodeError, Writer } from "./wire.ts";

export const MsgType = {
  ping: 1,
  indirectPing: 2,
  ack: 3,
  nack: 4,
  suspect: 5,
  alive: 6,
  dead: 7,
  pushPull: 8,
  user: 9,
} as const;

/** Memberlist's node states; `left` is a dead node that announced its own leave. */
export const NodeStateCode = { alive: 0, suspect: 1, dead: 2, left: 3 } as const;
export type NodeStateName = keyof typeof NodeStateCode;
const STATE_NAMES: readonly NodeStateName[] = ["alive", "suspect", "dead", "left"];

/** [ProtocolMin, ProtocolMax, ProtocolCur, DelegateMin, DelegateMax, DelegateCur] as Serf 0.8+ advertises them. */
export type Versions = readonly [number, number, number, number, number, number];
export const OUR_VERSIONS: Versions = [1, 5, 2, 2, 5, 4];

export interface PingMsg {
  readonly t: typeof MsgType.ping;
  readonly seq: number;
  /** The member we meant to reach (so a reused address does not answer for someone else). */
  readonly node: string;
  readonly sourceName: string;
  readonly sourceAddr: string;
  readonly sourcePort: number;
}

export interface IndirectPingMsg {
  readonly t: typeof MsgType.indirectPing;
  readonly seq: number;
  readonly target: string;
  readonly addr: string;
  readonly port: number;
  readonly nack: boolean;
  readonly sourceName: string;
  readonly sourceAddr: string;
  readonly sourcePort: number;
}

export interface AckMsg {
  readonly t: typeof MsgType.ack;
  readonly seq: number;
  readonly payload: Uint8Array;
}

export interface NackMsg {
  readonly t: typeof MsgType.nack;
  readonly seq: number;
}

export interface SuspectMsg {
  readonly t: typeof MsgType.suspect;
  readonly incarnation: number;
  readonly node: string;
  readonly from: string;
}

export interface AliveMsg {
  readonly t: typeof MsgType.alive;
  readonly incarnation: number;
  readonly node: string;
  readonly addr: string;
  readonly port: number;
  readonly meta: Uint8Array;
  readonly vsn: Versions;
}

export interface DeadMsg {
  readonly t: typeof MsgType.dead;
  readonly incarnation: number;
  readonly node: string;
  /** Equal to `node` when the member announced its own leave. */
  readonly from: string;
}

export interface PushNodeState {
  readonly name: string;
  readonly addr: string;
  readonly port: number;
  readonly meta: Uint8Array;
  readonly incarnation: number;
  readonly state: NodeStateName;
  readonly vsn: Versions;
}

export interface PushPullMsg {
  readonly t: typeof MsgType.pushPull;
  readonly join: boolean;
  readonly nodes: readonly PushNodeState[];
  readonly userState: Uint8Array;
}

export interface UserMsg {
  readonly t: typeof MsgType.user;
  readonly payload: Uint8Array;
}

export type Message = PingMsg | IndirectPingMsg | AckMsg | NackMsg | SuspectMsg | AliveMsg | DeadMsg | PushPullMsg | UserMsg;

const MAX_NAME = 512;
const MAX_META = 512;
const MAX_NODES = 1 << 20;

function writeVersions(w: Writer, v: Versions): void {
  for (const x of v) w.u8(x);
}

function readVersions(r: Reader): Versions {
  return [r.u8(), r.u8(), r.u8(), r.u8(), r.u8(), r.u8()];
}

export function encodeMessage(m: Message): Uint8Array {
  const w = new Writer(m.t === MsgType.pushPull ? 4096 : 64);
  w.u8(m.t);
  switch (m.t) {
    case MsgType.ping:
      w.uvar(m.seq).str(m.node).str(m.sourceName).str(m.sourceAddr).uvar(m.sourcePort);
      break;
    case MsgType.indirectPing:
      w.uvar(m.seq).str(m.target).str(m.addr).uvar(m.port).bool(m.nack).str(m.sourceName).str(m.sourceAddr).uvar(m.sourcePort);
      break;
    case MsgType.ack:
      w.uvar(m.seq).bytes(m.payload);
      break;
    case MsgType.nack:
      w.uvar(m.seq);
      break;
    case MsgType.suspect:
    case MsgType.dead:
      w.uvar(m.incarnation).str(m.node).str(m.from);
      break;
    case MsgType.alive:
      w.uvar(m.incarnation).str(m.node).str(m.addr).uvar(m.port).bytes(m.meta);
      writeVersions(w, m.vsn);
      break;
    case MsgType.pushPull:
      w.bool(m.join).uvar(m.nodes.length);
      for (const n of m.nodes) {
        w.str(n.name).str(n.addr).uvar(n.port).bytes(n.meta).uvar(n.incarnation).u8(NodeStateCode[n.state]);
        writeVersions(w, n.vsn);
      }
      w.bytes(m.userState);
      break;
    case MsgType.user:
      w.raw(m.payload);
      break;
  }
  return w.finish();
}

function port(r: Reader): number {
  const p = r.uvar();
  if (p > 65535) throw new WireDecodeError(`Invalid port ${p}`);
  return p;
}

export function decodeMessage(buf: Uint8Array): Message {
  const r = new Reader(buf);
  const t = r.u8();
  let m: Message;
  switch (t) {
    case MsgType.ping:
      m = { t, seq: r.uvar(), node: r.str(MAX_NAME), sourceName: r.str(MAX_NAME), sourceAddr: r.str(MAX_NAME), sourcePort: port(r) };
      break;
    case MsgType.indirectPing:
      m = {
        t,
        seq: r.uvar(),
        target: r.str(MAX_NAME),
        addr: r.str(MAX_NAME),
        port: port(r),
        nack: r.bool(),
        sourceName: r.str(MAX_NAME),
        sourceAddr: r.str(MAX_NAME),
        sourcePort: port(r),
      };
      break;
    case MsgType.ack:
      m = { t, seq: r.uvar(), payload: r.bytes(65536) };
      break;
    case MsgType.nack:
      m = { t, seq: r.uvar() };
      break;
    case MsgType.suspect:
    case MsgType.dead:
      m = { t, incarnation: r.uvar(), node: r.str(MAX_NAME), from: r.str(MAX_NAME) };
      break;
    case MsgType.alive:
      m = { t, incarnation: r.uvar(), node: r.str(MAX_NAME), addr: r.str(MAX_NAME), port: port(r), meta: r.bytes(MAX_META), vsn: readVersions(r) };
      break;
    case MsgType.pushPull: {
      const join = r.bool();
      const n = r.count(MAX_NODES);
      const nodes: PushNodeState[] = [];
      for (let i = 0; i < n; i++) {
        const name = r.str(MAX_NAME);
        const addr = r.str(MAX_NAME);
        const p = port(r);
        const meta = r.bytes(MAX_META);
        const incarnation = r.uvar();
        const s = r.u8();
        const state = STATE_NAMES[s];
        if (state === undefined) throw new WireDecodeError(`Unknown node state ${s}`);
        nodes.push({ name, addr, port: p, meta, incarnation, state, vsn: readVersions(r) });
      }
      m = { t, join, nodes, userState: r.bytes() };
      break;
    }
    case MsgType.user:
      m = { t, payload: r.raw(r.remaining) };
      break;
    default:
      throw new WireDecodeError(`Unknown message type ${t}`);
  }
  r.done();
  return m;
}

/** A packet body: several encoded messages. */
export function encodeCompound(msgs: readonly Uint8Array[]): Uint8Array {
  let size = 4;
  for (const m of msgs) size += m.length + 4;
  const w = new Writer(size);
  w.uvar(msgs.length);
  for (const m of msgs) w.bytes(m);
  return w.finish();
}

/** Per-message framing cost inside a compound body (a length varint, at most 2 bytes for UDP-sized messages). */
export const COMPOUND_OVERHEAD = 2;

export function decodeCompound(body: Uint8Array): Uint8Array[] {
  const r = new Reader(body);
  const n = r.count(4096);
  const out: Uint8Array[] = [];
  for (let i = 0; i < n; i++) out.push(r.bytes());
  r.done();
  return out;
}
