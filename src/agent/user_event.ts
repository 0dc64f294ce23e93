/**
 * User events (Consul's agent/user_event.go): `consul event` and
 * `/v1/event/fire` create them, every agent keeps the last 256 it received
 * and `/v1/event/list` shows them. Until gossip exists an event reaches only
 * the agent that fired it, which applies the node/service/tag filters to
 * itself exactly as a receiving agent would.
 */
import type { ServiceDef } from "./local_state.ts";
import { compileRe2 } from "../filter/re2.ts";
import { WatchHub } from "../state/watch.ts";

/** Consul's UserEvent as the HTTP API shows it (`Payload` is base64 on the wire). */
export interface UserEvent {
  readonly ID: string;
  readonly Name: string;
  readonly Payload: Uint8Array | null;
  readonly NodeFilter: string;
  readonly ServiceFilter: string;
  readonly TagFilter: string;
  readonly Version: number;
  /** Serf's Lamport time when the event was received; 0 in the answer to a fire. */
  readonly LTime: number;
}

export interface FireRequest {
  readonly name: string;
  readonly payload: Uint8Array | null;
  readonly nodeFilter: string;
  readonly serviceFilter: string;
  readonly tagFilter: string;
}

/** An event that cannot be fired; Consul answers these with a 500 and this text. */
export class UserEventError extends Error {
  override readonly name = "UserEventError";
}

/** Consul keeps this many recent events per agent. */
export const USER_EVENT_BUFFER = 256;
/** Serf's default UserEventSizeLimit, which bounds a whole encoded event. */
export const USER_EVENT_SIZE_LIMIT = 512;
const USER_EVENT_VERSION = 1;
/** Consul gossips user events under this serf event name prefix. */
export const SERF_NAME_PREFIX = "consul:event:";
export const EVENT_TOPIC = "agent:events";

export interface UserEventsOptions {
  readonly nodeName: string;
  /** The agent's live services, for the service and tag filters. */
  readonly services: () => readonly ServiceDef[];
  readonly newId?: () => string;
  /**
   * Internal events (Consul's `_rexec`) go to their handler once they pass
   * the filters, and are not kept in the list.
   */
  readonly internal?: Readonly<Record<string, (e: UserEvent) => void>>;
}

export class UserEvents {
  /** Fires EVENT_TOPIC whenever an event is added. */
  readonly hub = new WatchHub();
  private readonly o: UserEventsOptions;
  private readonly buf: UserEvent[] = [];
  /** Serf's event clock starts at 1. */
  private clock = 1;
  /** IDs of events taken in lately. */
  private readonly seen = new Set<string>();

  constructor(options: UserEventsOptions) {
    this.o = options;
  }

  /** Validates an event and gives it an ID, ready to send (LTime 0, as Consul's fire answer shows). */
  prepare(req: FireRequest): UserEvent {
    validate(req);
    const event: UserEvent = {
      ID: (this.o.newId ?? (() => crypto.randomUUID()))(),
      Name: req.name,
      Payload: req.payload && req.payload.length > 0 ? req.payload : null,
      NodeFilter: req.nodeFilter,
      ServiceFilter: req.serviceFilter,
      TagFilter: req.tagFilter,
      Version: USER_EVENT_VERSION,
      LTime: 0,
    };
    checkSize(event, this.clock);
    return event;
  }

  /** Fires an event that reaches this agent only (no gossip pool). */
  fire(req: FireRequest): UserEvent {
    const event = this.prepare(req);
    const ltime = this.clock++;
    this.receive({ ...event, LTime: ltime });
    return event;
  }

  /**
   * Ingests an event as a receiving agent: kept only when it passes the
   * filters, and once (gossip may bring the same event back).
   */
  receive(event: UserEvent): boolean {
    if (this.seen.has(event.ID)) return false;
    if (!this.shouldProcess(event)) return false;
    this.seen.add(event.ID);
    if (this.seen.size > USER_EVENT_BUFFER * 4) this.seen.delete(this.seen.values().next().value!);
    const handler = this.o.internal?.[event.Name];
    if (handler) {
      handler(event);
      return true;
    }
    this.buf.push(event);
    if (this.buf.length > USER_EVENT_BUFFER) this.buf.shift();
    this.hub.fire(EVENT_TOPIC);
    return true;
  }

  /** The kept events, oldest first. */
  list(): readonly UserEvent[] {
    return [...this.buf];
  }

  private shouldProcess(e: UserEvent): boolean {
    if (e.NodeFilter !== "" && !compileRe2(e.NodeFilter).test(this.o.nodeName)) return false;
    if (e.ServiceFilter === "") return true;
    const svcRe = compileRe2(e.ServiceFilter);
    const tagRe = e.TagFilter === "" ? null : compileRe2(e.TagFilter);
    // Consul matches the filter against the local service IDs (its map keys).
    return this.o.services().some((s) => svcRe.test(s.ID) && (tagRe === null || s.Tags.some((t) => tagRe.test(t))));
  }
}

function validate(req: FireRequest): void {
  if (req.name === "") throw new UserEventError("User event missing name");
  if (req.tagFilter !== "" && req.serviceFilter === "") throw new UserEventError("Cannot provide tag filter without service filter");
  const re = (what: string, pattern: string) => {
    if (pattern === "") return;
    try {
      compileRe2(pattern);
    } catch (err) {
      throw new UserEventError(`Invalid ${what} filter: ${(err as Error).message}`, { cause: err });
    }
  };
  re("node", req.nodeFilter);
  re("service", req.serviceFilter);
  re("tag", req.tagFilter);
}

const utf8 = (s: string): number => new TextEncoder().encode(s).length;
const strSize = (n: number): number => (n < 32 ? 1 + n : n < 256 ? 2 + n : n < 65_536 ? 3 + n : 5 + n);
const binSize = (n: number): number => (n < 256 ? 2 + n : n < 65_536 ? 3 + n : 5 + n);
const uintSize = (n: number): number => (n < 128 ? 1 : n < 256 ? 2 : n < 65_536 ? 3 : n < 2 ** 32 ? 5 : 9);

/**
 * Serf refuses events past its size limit, counted on the msgpack encoding
 * Consul gossips (the UserEvent, wrapped in serf's user-event message).
 */
function checkSize(e: UserEvent, ltime: number): void {
  const payload = e.Payload?.length ?? 0;
  let inner = 1 + strSize(2) + strSize(utf8(e.ID)) + strSize(1) + strSize(utf8(e.Name)) + strSize(1) + 1;
  if (payload > 0) inner += strSize(1) + binSize(payload);
  for (const [key, v] of [["nf", e.NodeFilter], ["sf", e.ServiceFilter], ["tf", e.TagFilter]] as const) {
    if (v !== "") inner += strSize(key.length) + strSize(utf8(v));
  }
  const serfName = utf8(SERF_NAME_PREFIX + e.Name);
  if (serfName + inner > USER_EVENT_SIZE_LIMIT) {
    throw new UserEventError(`user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes before encoding`);
  }
  const outer = 1 + 1 + strSize(5) + uintSize(ltime) + strSize(4) + strSize(serfName) + strSize(7) + strSize(inner) + strSize(2) + 1;
  if (outer > USER_EVENT_SIZE_LIMIT) {
    throw new UserEventError(`encoded user event exceeds configured limit of ${USER_EVENT_SIZE_LIMIT} bytes after encoding`);
  }
}

/**
 * Consul's IDToIndex: the XOR of the two 64-bit halves of the event UUID,
 * used as X-Consul-Index of `/v1/event/list`. It often passes 2^53, so it is
 * a bigint.
 */
export function eventIdToIndex(id: string): bigint {
  const hex = id.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new UserEventError(`Invalid event ID "${id}"`);
  return BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`);
}

// ---- the event inside a gossip user event ----

const te = new TextEncoder();
const td = new TextDecoder();

function putVarint(out: number[], n: number): void {
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
}

/**
 * The gossip payload of a user event (Consul msgpack-encodes its UserEvent;
 * this is our own compact form): version byte, then ID, Name, NodeFilter,
 * ServiceFilter, TagFilter as length-prefixed UTF-8, then the payload with
 * a presence flag.
 */
export function encodeUserEvent(e: UserEvent): Uint8Array {
  const out: number[] = [e.Version];
  for (const s of [e.ID, e.Name, e.NodeFilter, e.ServiceFilter, e.TagFilter]) {
    const b = te.encode(s);
    putVarint(out, b.length);
    for (const x of b) out.push(x);
  }
  if (e.Payload === null) out.push(0);
  else {
    out.push(1);
    putVarint(out, e.Payload.length);
    for (const x of e.Payload) out.push(x);
  }
  return Uint8Array.from(out);
}

/** Decodes a gossip user event's payload; null when it is not one of ours. */
export function decodeUserEvent(data: Uint8Array, ltime: number): UserEvent | null {
  let at = 0;
  const varint = (): number | null => {
    let n = 0;
    let shift = 0;
    while (at < data.length) {
      const b = data[at++]!;
      n += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) return n;
      shift += 7;
      if (shift > 28) return null;
    }
    return null;
  };
  const bytes = (): Uint8Array | null => {
    const len = varint();
    if (len === null || at + len > data.length) return null;
    const b = data.subarray(at, at + len);
    at += len;
    return b;
  };
  if (data.length < 1) return null;
  const version = data[at++]!;
  const fields: string[] = [];
  for (let i = 0; i < 5; i++) {
    const b = bytes();
    if (b === null) return null;
    fields.push(td.decode(b));
  }
  if (at >= data.length) return null;
  const has = data[at++];
  let payload: Uint8Array | null = null;
  if (has === 1) {
    const b = bytes();
    if (b === null) return null;
    payload = b.slice();
  } else if (has !== 0) return null;
  if (at !== data.length) return null;
  const [ID, Name, NodeFilter, ServiceFilter, TagFilter] = fields as [string, string, string, string, string];
  return { ID, Name, Payload: payload, NodeFilter, ServiceFilter, TagFilter, Version: version, LTime: ltime };
}
