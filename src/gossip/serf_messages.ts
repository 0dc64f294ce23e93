/**
 * Serf-layer messages, carried inside memberlist user messages: join and
 * leave intents ordered by a Lamport clock, user events, queries and their
 * responses, the push-pull extension, member tags and the coordinate that
 * rides on every ack.
 */
import type { Coordinate } from "./coordinate.ts";
import { Reader, WireDecodeError, Writer } from "./wire.ts";

export const SerfType = {
  leave: 1,
  join: 2,
  pushPull: 3,
  userEvent: 4,
  query: 5,
  queryResponse: 6,
} as const;

export interface LeaveIntent {
  readonly t: typeof SerfType.leave;
  readonly ltime: number;
  readonly node: string;
  readonly prune: boolean;
}

export interface JoinIntent {
  readonly t: typeof SerfType.join;
  readonly ltime: number;
  readonly node: string;
}

export interface EventRecord {
  readonly name: string;
  readonly payload: Uint8Array;
}

export interface SerfPushPull {
  readonly t: typeof SerfType.pushPull;
  readonly ltime: number;
  readonly statusLTimes: ReadonlyMap<string, number>;
  readonly leftMembers: readonly string[];
  readonly eventLTime: number;
  readonly events: readonly { readonly ltime: number; readonly events: readonly EventRecord[] }[];
  readonly queryLTime: number;
}

export interface UserEventMsg {
  readonly t: typeof SerfType.userEvent;
  readonly ltime: number;
  readonly name: string;
  readonly payload: Uint8Array;
  readonly cc: boolean;
}

export const QueryFlag = { ack: 1, noBroadcast: 2 } as const;

export interface QueryMsg {
  readonly t: typeof SerfType.query;
  readonly ltime: number;
  readonly id: number;
  readonly addr: string;
  readonly port: number;
  readonly sourceNode: string;
  readonly filterNodes: readonly string[];
  readonly filterTags: readonly (readonly [string, string])[];
  readonly flags: number;
  readonly timeoutMs: number;
  readonly name: string;
  readonly payload: Uint8Array;
}

export interface QueryResponseMsg {
  readonly t: typeof SerfType.queryResponse;
  readonly ltime: number;
  readonly id: number;
  readonly from: string;
  readonly flags: number;
  readonly payload: Uint8Array;
}

export type SerfMessage = LeaveIntent | JoinIntent | SerfPushPull | UserEventMsg | QueryMsg | QueryResponseMsg;

const MAX_NAME = 512;
const MAX_LIST = 1 << 20;

export function encodeSerf(m: SerfMessage): Uint8Array {
  const w = new Writer(64);
  w.u8(m.t);
  switch (m.t) {
    case SerfType.leave:
      w.uvar(m.ltime).str(m.node).bool(m.prune);
      break;
    case SerfType.join:
      w.uvar(m.ltime).str(m.node);
      break;
    case SerfType.pushPull:
      w.uvar(m.ltime).uvar(m.statusLTimes.size);
      for (const [k, v] of m.statusLTimes) w.str(k).uvar(v);
      w.uvar(m.leftMembers.length);
      for (const n of m.leftMembers) w.str(n);
      w.uvar(m.eventLTime).uvar(m.events.length);
      for (const e of m.events) {
        w.uvar(e.ltime).uvar(e.events.length);
        for (const x of e.events) w.str(x.name).bytes(x.payload);
      }
      w.uvar(m.queryLTime);
      break;
    case SerfType.userEvent:
      w.uvar(m.ltime).str(m.name).bytes(m.payload).bool(m.cc);
      break;
    case SerfType.query:
      w.uvar(m.ltime).uvar(m.id).str(m.addr).uvar(m.port).str(m.sourceNode).uvar(m.filterNodes.length);
      for (const n of m.filterNodes) w.str(n);
      w.uvar(m.filterTags.length);
      for (const [k, v] of m.filterTags) w.str(k).str(v);
      w.u8(m.flags).uvar(m.timeoutMs).str(m.name).bytes(m.payload);
      break;
    case SerfType.queryResponse:
      w.uvar(m.ltime).uvar(m.id).str(m.from).u8(m.flags).bytes(m.payload);
      break;
  }
  return w.finish();
}

export function decodeSerf(buf: Uint8Array): SerfMessage {
  const r = new Reader(buf);
  const t = r.u8();
  let m: SerfMessage;
  switch (t) {
    case SerfType.leave:
      m = { t, ltime: r.uvar(), node: r.str(MAX_NAME), prune: r.bool() };
      break;
    case SerfType.join:
      m = { t, ltime: r.uvar(), node: r.str(MAX_NAME) };
      break;
    case SerfType.pushPull: {
      const ltime = r.uvar();
      const statusLTimes = new Map<string, number>();
      for (let i = r.count(MAX_LIST); i > 0; i--) statusLTimes.set(r.str(MAX_NAME), r.uvar());
      const leftMembers: string[] = [];
      for (let i = r.count(MAX_LIST); i > 0; i--) leftMembers.push(r.str(MAX_NAME));
      const eventLTime = r.uvar();
      const events: { ltime: number; events: EventRecord[] }[] = [];
      for (let i = r.count(MAX_LIST); i > 0; i--) {
        const lt = r.uvar();
        const evs: EventRecord[] = [];
        for (let j = r.count(MAX_LIST); j > 0; j--) evs.push({ name: r.str(MAX_NAME), payload: r.bytes(65536) });
        events.push({ ltime: lt, events: evs });
      }
      m = { t, ltime, statusLTimes, leftMembers, eventLTime, events, queryLTime: r.uvar() };
      break;
    }
    case SerfType.userEvent:
      m = { t, ltime: r.uvar(), name: r.str(MAX_NAME), payload: r.bytes(65536), cc: r.bool() };
      break;
    case SerfType.query: {
      const ltime = r.uvar();
      const id = r.uvar();
      const addr = r.str(MAX_NAME);
      const port = r.uvar();
      if (port > 65535) throw new WireDecodeError(`Invalid port ${port}`);
      const sourceNode = r.str(MAX_NAME);
      const filterNodes: string[] = [];
      for (let i = r.count(MAX_LIST); i > 0; i--) filterNodes.push(r.str(MAX_NAME));
      const filterTags: [string, string][] = [];
      for (let i = r.count(1024); i > 0; i--) filterTags.push([r.str(MAX_NAME), r.str(MAX_NAME)]);
      m = { t, ltime, id, addr, port, sourceNode, filterNodes, filterTags, flags: r.u8(), timeoutMs: r.uvar(), name: r.str(MAX_NAME), payload: r.bytes(65536) };
      break;
    }
    case SerfType.queryResponse:
      m = { t, ltime: r.uvar(), id: r.uvar(), from: r.str(MAX_NAME), flags: r.u8(), payload: r.bytes(65536) };
      break;
    default:
      throw new WireDecodeError(`Unknown serf message type ${t}`);
  }
  r.done();
  return m;
}

/** Member tags as memberlist metadata (at most 512 bytes). */
export function encodeTags(tags: Readonly<Record<string, string>>): Uint8Array {
  const w = new Writer(64);
  const keys = Object.keys(tags).sort();
  w.uvar(keys.length);
  for (const k of keys) w.str(k).str(tags[k] as string);
  return w.finish();
}

export function decodeTags(meta: Uint8Array): Record<string, string> {
  if (meta.length === 0) return {};
  try {
    const r = new Reader(meta);
    const out: Record<string, string> = {};
    for (let i = r.count(512); i > 0; i--) out[r.str(512)] = r.str(512);
    r.done();
    return out;
  } catch (e) {
    if (e instanceof WireDecodeError) return {};
    throw e;
  }
}

export function encodeCoordinate(c: Coordinate): Uint8Array {
  const w = new Writer(16 + 8 * c.Vec.length);
  w.u8(c.Vec.length);
  for (const v of c.Vec) w.f64(v);
  w.f64(c.Error).f64(c.Adjustment).f64(c.Height);
  return w.finish();
}

export function decodeCoordinate(b: Uint8Array): Coordinate {
  const r = new Reader(b);
  const n = r.u8();
  const Vec: number[] = [];
  for (let i = 0; i < n; i++) Vec.push(r.f64());
  const c = { Vec, Error: r.f64(), Adjustment: r.f64(), Height: r.f64() };
  r.done();
  return c;
}

/** A member's answer to a keyring query (Serf's nodeKeyResponse plus the primary key). */
export interface KeyResponseMsg {
  readonly result: boolean;
  readonly message: string;
  readonly keys: readonly string[];
  readonly primaryKey: string;
}

export function encodeKeyResponse(k: KeyResponseMsg): Uint8Array {
  const w = new Writer(64).bool(k.result).str(k.message).uvar(k.keys.length);
  for (const key of k.keys) w.str(key);
  return w.str(k.primaryKey).finish();
}

export function decodeKeyResponse(b: Uint8Array): KeyResponseMsg {
  const r = new Reader(b);
  const result = r.bool();
  const message = r.str(1024);
  const keys: string[] = [];
  for (let i = r.count(64); i > 0; i--) keys.push(r.str(64));
  const primaryKey = r.str(64);
  r.done();
  return { result, message, keys, primaryKey };
}
