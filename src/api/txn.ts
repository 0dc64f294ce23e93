/** Transactions (`PUT /v1/txn`), as the Go client's `api.Txn`. */
import type { Client, RawRequest } from "./client.ts";
import { encodeBase64 } from "./base64.ts";
import { encodeJson, toNumber } from "./json.ts";
import { kvPairFromWire, toBytes, type KVPair, type KVTxnOp } from "./kv.ts";
import { parseQueryMeta, type QueryMeta, type QueryOptions } from "./options.ts";
import type { AgentService, HealthCheck, Node } from "./types.ts";

export type CatalogTxnVerb = "set" | "cas" | "get" | "delete" | "delete-cas";

export interface NodeTxnOp {
  Verb: CatalogTxnVerb;
  Node: Partial<Node> & { Node: string };
}

export interface ServiceTxnOp {
  Verb: CatalogTxnVerb;
  Node: string;
  Service: Partial<AgentService> & { Service?: string; ID?: string };
}

export interface CheckTxnOp {
  Verb: CatalogTxnVerb;
  Check: Partial<HealthCheck> & { Node: string; CheckID: string };
}

export type TxnOp = { KV: KVTxnOp } | { Node: NodeTxnOp } | { Service: ServiceTxnOp } | { Check: CheckTxnOp };

export type TxnResult = { KV: KVPair } | { Node: Node } | { Service: AgentService } | { Check: HealthCheck };

export interface TxnError {
  OpIndex: number;
  What: string;
}

export interface TxnResponse {
  /** True when the transaction was applied (200); false when rolled back (409). */
  readonly ok: boolean;
  readonly Results: TxnResult[];
  readonly Errors: TxnError[];
  readonly meta: QueryMeta;
}

export class Txn {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /**
   * Applies the operations atomically. A read-only transaction honours
   * `stale`/`consistent`; one with writes always goes through the log.
   */
  async apply(ops: TxnOp[], q?: QueryOptions): Promise<TxnResponse> {
    const request: RawRequest = { method: "PUT", path: "/v1/txn", query: q ?? {}, body: encodeJson(ops.map(toWireOp)) };
    const response = await this.c.send(request);
    const meta = parseQueryMeta(response.headers, response.requestTime);
    this.c.requireStatus(request, response, [200, 409]);
    const json = this.c.decode(request, response) as { Results?: unknown; Errors?: unknown } | null;
    const results = Array.isArray(json?.Results) ? json.Results.map(fromWireResult) : [];
    const errors = Array.isArray(json?.Errors)
      ? json.Errors.map((e: { OpIndex?: unknown; What?: unknown }) => ({
          OpIndex: toNumber(e.OpIndex, "OpIndex"),
          What: String(e.What ?? ""),
        }))
      : [];
    return { ok: response.status === 200, Results: results, Errors: errors, meta };
  }
}

function toWireOp(op: TxnOp): unknown {
  if ("KV" in op) {
    const kv = op.KV;
    const wire: Record<string, unknown> = {
      Verb: kv.Verb,
      Key: kv.Key,
      Value: kv.Value === undefined || kv.Value === null ? null : encodeBase64(toBytes(kv.Value)),
      Flags: BigInt(kv.Flags ?? 0),
      Index: kv.Index ?? 0,
      Session: kv.Session ?? "",
    };
    if (kv.Namespace) wire.Namespace = kv.Namespace;
    return { KV: wire };
  }
  return op;
}

function fromWireResult(json: unknown): TxnResult {
  const r = (json ?? {}) as Record<string, unknown>;
  if (r.KV) return { KV: kvPairFromWire(r.KV) };
  if (r.Node) return { Node: r.Node as Node };
  if (r.Service) return { Service: r.Service as AgentService };
  return { Check: r.Check as HealthCheck };
}
