/** `/v1/operator/keyring`, as the Go client's `Operator().Keyring*` methods. */
import type { Client } from "./client.ts";
import type { QueryOptions, WriteOptions } from "./options.ts";
import { asArray } from "./types.ts";

/** One ring's keys (Go's `api.KeyringResponse`). */
export interface KeyringResponse {
  WAN: boolean;
  Datacenter: string;
  Segment: string;
  Partition?: string;
  Messages: Record<string, string>;
  Keys: Record<string, number>;
  PrimaryKeys: Record<string, number>;
  NumNodes: number;
}

function toResponse(j: unknown): KeyringResponse {
  const o = (j ?? {}) as Record<string, unknown>;
  const nums = (v: unknown): Record<string, number> => (v && typeof v === "object" ? (v as Record<string, number>) : {});
  return {
    WAN: o.WAN === true,
    Datacenter: String(o.Datacenter ?? ""),
    Segment: String(o.Segment ?? ""),
    Messages: o.Messages && typeof o.Messages === "object" ? (o.Messages as Record<string, string>) : {},
    Keys: nums(o.Keys),
    PrimaryKeys: nums(o.PrimaryKeys),
    NumNodes: typeof o.NumNodes === "number" ? o.NumNodes : 0,
  };
}

export interface KeyringOptions {
  /** `?relay-factor=` (0 to 5). */
  readonly relayFactor?: number;
  /** `?local-only` (list only): skip the WAN ring. */
  readonly localOnly?: boolean;
}

function params(o: KeyringOptions | undefined): [string, string][] {
  const p: [string, string][] = [];
  if (o?.relayFactor) p.push(["relay-factor", String(o.relayFactor)]);
  if (o?.localOnly) p.push(["local-only", "true"]);
  return p;
}

export async function keyringList(c: Client, o?: KeyringOptions, q?: QueryOptions): Promise<KeyringResponse[]> {
  const [list] = await c.query("/v1/operator/keyring", q, (j) => asArray<unknown>(j).map(toResponse), params(o));
  return list;
}

export async function keyringWrite(c: Client, method: "POST" | "PUT" | "DELETE", key: string, o?: KeyringOptions, w?: WriteOptions): Promise<void> {
  await c.write(method, "/v1/operator/keyring", JSON.stringify({ Key: key }), w, params(o));
}
