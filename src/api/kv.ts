/** The KV store (`/v1/kv`), as the Go client's `api.KV`. */
import type { Client, RawRequest } from "./client.ts";
import { decodeBase64 } from "./base64.ts";
import { ApiDecodeError } from "./errors.ts";
import { toBigInt, toNumber } from "./json.ts";
import { parseQueryMeta, type QueryMeta, type QueryOptions, type WriteOptions } from "./options.ts";
import { Txn, type TxnError } from "./txn.ts";

/** A KV entry. `Value` is raw bytes here; on the wire it is base64. `Flags` is a uint64. */
export interface KVPair {
  Key: string;
  CreateIndex: number;
  ModifyIndex: number;
  LockIndex: number;
  Flags: bigint;
  Value: Uint8Array | null;
  Session?: string;
  Namespace?: string;
  Partition?: string;
}

/** What a write reads from a pair; strings are sent as UTF-8. */
export interface KVPairInput {
  Key: string;
  Value?: Uint8Array | string | null;
  Flags?: bigint | number;
  /** Check-and-set index for `cas` / `deleteCAS`. */
  ModifyIndex?: number;
  /** Session for `acquire` / `release`. */
  Session?: string;
}

export const KVOp = {
  Set: "set",
  Delete: "delete",
  DeleteCAS: "delete-cas",
  DeleteTree: "delete-tree",
  CAS: "cas",
  Lock: "lock",
  Unlock: "unlock",
  Get: "get",
  GetOrEmpty: "get-or-empty",
  GetTree: "get-tree",
  CheckSession: "check-session",
  CheckIndex: "check-index",
  CheckNotExists: "check-not-exists",
} as const;
export type KVOp = (typeof KVOp)[keyof typeof KVOp];

export interface KVTxnOp {
  Verb: KVOp;
  Key: string;
  Value?: Uint8Array | string | null;
  Flags?: bigint | number;
  Index?: number;
  Session?: string;
  Namespace?: string;
}

export interface KVTxnResponse {
  /** One entry per result-producing op; `null` for ops (deletes) with none. */
  Results: (KVPair | null)[];
  Errors: TxnError[];
}

export function toBytes(value: Uint8Array | string | null | undefined): Uint8Array<ArrayBuffer> {
  if (value === null || value === undefined) return new Uint8Array(0);
  if (typeof value === "string") return new TextEncoder().encode(value);
  // fetch bodies must be backed by a plain ArrayBuffer; copy views of shared memory.
  return value.buffer instanceof ArrayBuffer ? (value as Uint8Array<ArrayBuffer>) : new Uint8Array(value);
}

/** Converts one wire DirEntry (base64 value, flags maybe a decimal string) to a KVPair. */
export function kvPairFromWire(json: unknown): KVPair {
  if (json === null || typeof json !== "object") throw new TypeError("KV entry is not an object");
  const o = json as Record<string, unknown>;
  const pair: KVPair = {
    Key: String(o.Key ?? ""),
    CreateIndex: toNumber(o.CreateIndex, "CreateIndex"),
    ModifyIndex: toNumber(o.ModifyIndex, "ModifyIndex"),
    LockIndex: toNumber(o.LockIndex, "LockIndex"),
    Flags: toBigInt(o.Flags, "Flags"),
    Value: typeof o.Value === "string" ? decodeBase64(o.Value) : null,
  };
  if (typeof o.Session === "string" && o.Session !== "") pair.Session = o.Session;
  if (typeof o.Namespace === "string" && o.Namespace !== "") pair.Namespace = o.Namespace;
  if (typeof o.Partition === "string" && o.Partition !== "") pair.Partition = o.Partition;
  return pair;
}

/** Thrown before any request when a key starts with "/", as the Go client does. */
export class InvalidKeyError extends Error {
  override readonly name = "InvalidKeyError";
  readonly key: string;
  constructor(key: string) {
    super(`Invalid key. Key must not begin with a '/': ${key}`);
    this.key = key;
  }
}

export class KV {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** Reads one key; `null` when it does not exist (404). */
  async get(key: string, q?: QueryOptions): Promise<[KVPair | null, QueryMeta]> {
    const [json, meta] = await this.getInternal(key, [], q);
    if (json === null) return [null, meta];
    const pairs = this.pairs(json, key);
    return [pairs[0] ?? null, meta];
  }

  /** Reads every key under a prefix (`?recurse`). */
  async list(prefix: string, q?: QueryOptions): Promise<[KVPair[], QueryMeta]> {
    const [json, meta] = await this.getInternal(prefix, [["recurse", ""]], q);
    return [json === null ? [] : this.pairs(json, prefix), meta];
  }

  /** Lists key names under a prefix (`?keys`), folded at `separator` when given. */
  async keys(prefix: string, separator = "", q?: QueryOptions): Promise<[string[], QueryMeta]> {
    const params: [string, string][] = [["keys", ""]];
    if (separator !== "") params.push(["separator", separator]);
    const [json, meta] = await this.getInternal(prefix, params, q);
    if (json === null) return [[], meta];
    if (!Array.isArray(json)) throw new ApiDecodeError(`Expected a key list for ${prefix}`, `/v1/kv/${prefix}`);
    return [json.map(String), meta];
  }

  /** Writes a value; resolves to the agent's boolean answer. */
  async put(pair: KVPairInput, w?: WriteOptions): Promise<boolean> {
    return this.putInternal(pair, [], w);
  }

  /** Check-and-set: writes only if the key's ModifyIndex equals `pair.ModifyIndex` (0 = only if absent). */
  async cas(pair: KVPairInput, w?: WriteOptions): Promise<boolean> {
    return this.putInternal(pair, [["cas", String(pair.ModifyIndex ?? 0)]], w);
  }

  /** Takes the key's lock for `pair.Session` (`?acquire=`). */
  async acquire(pair: KVPairInput, w?: WriteOptions): Promise<boolean> {
    return this.putInternal(pair, [["acquire", pair.Session ?? ""]], w);
  }

  /** Gives the key's lock back (`?release=`). */
  async release(pair: KVPairInput, w?: WriteOptions): Promise<boolean> {
    return this.putInternal(pair, [["release", pair.Session ?? ""]], w);
  }

  /** Deletes one key. */
  async delete(key: string, w?: WriteOptions): Promise<boolean> {
    return this.deleteInternal(key, [], w);
  }

  /** Deletes a key only if its ModifyIndex matches. */
  async deleteCAS(pair: Pick<KVPairInput, "Key" | "ModifyIndex">, w?: WriteOptions): Promise<boolean> {
    return this.deleteInternal(pair.Key, [["cas", String(pair.ModifyIndex ?? 0)]], w);
  }

  /** Deletes every key under a prefix. */
  async deleteTree(prefix: string, w?: WriteOptions): Promise<boolean> {
    return this.deleteInternal(prefix, [["recurse", ""]], w);
  }

  /** A KV-only transaction (Go's `KV.Txn`); `ok` is false when the agent rolled it back (409). */
  async txn(ops: KVTxnOp[], q?: QueryOptions): Promise<{ ok: boolean; response: KVTxnResponse; meta: QueryMeta }> {
    const result = await new Txn(this.c).apply(
      ops.map((KV) => ({ KV })),
      q,
    );
    return {
      ok: result.ok,
      response: {
        Results: result.Results.map((r) => ("KV" in r && r.KV ? r.KV : null)),
        Errors: result.Errors,
      },
      meta: result.meta,
    };
  }

  private pairs(json: unknown, key: string): KVPair[] {
    if (!Array.isArray(json)) throw new ApiDecodeError(`Expected a JSON array for KV ${key}`, `/v1/kv/${key}`);
    return json.map(kvPairFromWire);
  }

  private async getInternal(
    key: string,
    params: ReadonlyArray<readonly [string, string]>,
    q: QueryOptions | undefined,
  ): Promise<[unknown, QueryMeta]> {
    const request: RawRequest = { method: "GET", path: `/v1/kv/${key}`, params, query: q ?? {} };
    const response = await this.c.send(request);
    const meta = parseQueryMeta(response.headers, response.requestTime);
    if (response.status === 404) return [null, meta];
    this.c.requireStatus(request, response);
    return [this.c.decode(request, response), meta];
  }

  private async putInternal(
    pair: KVPairInput,
    extra: ReadonlyArray<readonly [string, string]>,
    w: WriteOptions | undefined,
  ): Promise<boolean> {
    if (pair.Key.startsWith("/")) throw new InvalidKeyError(pair.Key);
    const params: (readonly [string, string])[] = [];
    const flags = BigInt(pair.Flags ?? 0);
    if (flags !== 0n) params.push(["flags", flags.toString()]);
    params.push(...extra);
    const request: RawRequest = {
      method: "PUT",
      path: `/v1/kv/${pair.Key}`,
      params,
      write: w ?? {},
      body: toBytes(pair.Value),
    };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    return new TextDecoder().decode(response.body).includes("true");
  }

  private async deleteInternal(
    key: string,
    params: ReadonlyArray<readonly [string, string]>,
    w: WriteOptions | undefined,
  ): Promise<boolean> {
    const request: RawRequest = { method: "DELETE", path: `/v1/kv/${key}`, params, write: w ?? {} };
    const response = await this.c.send(request);
    this.c.requireStatus(request, response);
    return new TextDecoder().decode(response.body).includes("true");
  }
}
