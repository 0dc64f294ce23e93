/**
 * User events (`/v1/event`), as the Go client's `api.Event`. The list's
 * index is Consul's IDToIndex of the newest event: a full uint64, so it is a
 * bigint here rather than a QueryMeta number.
 */
import { decodeBase64, encodeBase64 } from "./base64.ts";
import type { Client, RawRequest } from "./client.ts";
import type { QueryOptions, WriteOptions } from "./options.ts";

export interface UserEvent {
  ID: string;
  Name: string;
  /** Raw bytes; null when the event has none. */
  Payload: Uint8Array | null;
  NodeFilter: string;
  ServiceFilter: string;
  TagFilter: string;
  Version: number;
  LTime: number;
}

export interface FireParams {
  readonly Name: string;
  readonly Payload?: Uint8Array | string;
  readonly NodeFilter?: string;
  readonly ServiceFilter?: string;
  readonly TagFilter?: string;
}

/** Consul's IDToIndex: the XOR of the two 64-bit halves of an event's UUID. */
export function eventIdToIndex(id: string): bigint {
  const hex = id.replaceAll("-", "");
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new TypeError(`Invalid event ID ${JSON.stringify(id)}`);
  return BigInt(`0x${hex.slice(0, 16)}`) ^ BigInt(`0x${hex.slice(16)}`);
}

function fromWire(j: unknown): UserEvent {
  const e = j as Omit<UserEvent, "Payload"> & { Payload: string | null };
  return { ...e, Payload: typeof e.Payload === "string" && e.Payload !== "" ? decodeBase64(e.Payload) : null };
}

/** The wire form of an event, with the payload in base64 (what Consul prints). */
export function userEventToWire(e: UserEvent): Record<string, unknown> {
  return { ...e, Payload: e.Payload === null ? null : encodeBase64(e.Payload) };
}

export class Event {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** Fires an event; returns the event ID. */
  async fire(params: FireParams, w?: WriteOptions): Promise<string> {
    const query: [string, string][] = [];
    if (params.NodeFilter) query.push(["node", params.NodeFilter]);
    if (params.ServiceFilter) query.push(["service", params.ServiceFilter]);
    if (params.TagFilter) query.push(["tag", params.TagFilter]);
    const payload = typeof params.Payload === "string" ? new TextEncoder().encode(params.Payload) : params.Payload;
    const request: RawRequest = {
      method: "PUT",
      path: `/v1/event/fire/${params.Name}`,
      write: w ?? {},
      params: query,
      ...(payload && payload.length > 0 ? { body: new Uint8Array(payload) } : {}),
    };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    return fromWire(this.c.decode(request, response)).ID;
  }

  /**
   * Recent events this agent received, optionally of one name. With
   * `index`, blocks while the newest event's index still equals it.
   */
  async list(name = "", q: Omit<QueryOptions, "index"> & { index?: bigint } = {}): Promise<[UserEvent[], bigint]> {
    const { index, ...rest } = q;
    const params: [string, string][] = [];
    if (name) params.push(["name", name]);
    if (index !== undefined && index > 0n) params.push(["index", index.toString()]);
    const request: RawRequest = { method: "GET", path: "/v1/event/list", query: rest, params };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    const raw = this.c.decode(request, response);
    const header = response.headers.get("X-Consul-Index") ?? "0";
    return [Array.isArray(raw) ? raw.map(fromWire) : [], /^\d+$/.test(header) ? BigInt(header) : 0n];
  }
}
