/** `PUT /v1/txn` (Consul's agent/txn_endpoint.go). */
import type { Hono } from "hono";
import { type ApiContext, checkDatacenter, json, queryOptions, readJson, setMeta } from "./context.ts";
import { decodeCheck, decodeService, num, obj, str } from "./decode_catalog.ts";
import { HttpError } from "./errors.ts";
import { nodeServiceJson } from "./render.ts";
import { isReadOnlyTxn, MessageType, type TxnOp, type TxnOutcome, type TxnResult } from "../state/mod.ts";
import { decodeBase64, encodeBase64, field, isObject, toUint64 } from "../structs/json.ts";
import { dirEntryJson, KvVerb } from "../structs/kv.ts";

const KV_VERBS = new Set<string>(Object.values(KvVerb));
const CATALOG_VERBS = new Set(["set", "cas", "get", "delete", "delete-cas"]);

type Obj = Record<string, unknown>;

function decodeOp(raw: unknown, i: number, dc: string, maxValue: number): TxnOp {
  if (!isObject(raw)) throw new HttpError(400, `Failed to parse transaction: operation ${i} is not an object`);
  const kv = obj(raw, "KV");
  if (kv) {
    const verb = str(kv, "Verb");
    if (!KV_VERBS.has(verb)) throw new HttpError(400, `Failed to parse transaction: unknown KV verb "${verb}" in operation ${i}`);
    const value = field(kv, "Value");
    if (value !== undefined && value !== null && (typeof value !== "string" || decodeBase64(value) === null)) {
      throw new HttpError(400, `Failed to parse transaction: KV value of operation ${i} is not base64`);
    }
    const size = typeof value === "string" ? decodeBase64(value)!.length : 0;
    if (size > maxValue) throw new HttpError(413, `Value for key "${str(kv, "Key")}" is too large (${size} > ${maxValue} bytes)`);
    const flags = field(kv, "Flags");
    const f = flags === undefined || flags === null ? 0n : toUint64(flags);
    if (f === null) throw new HttpError(400, `Failed to parse transaction: invalid Flags in operation ${i}`);
    return {
      KV: {
        Verb: verb as KvVerb,
        Entry: { Key: str(kv, "Key"), Value: typeof value === "string" ? value : null, Flags: f.toString(), Session: str(kv, "Session"), ModifyIndex: num(kv, "Index") },
      },
    };
  }
  const verbOf = (o: Obj, what: string): string => {
    const verb = str(o, "Verb");
    if (!CATALOG_VERBS.has(verb)) throw new HttpError(400, `Failed to parse transaction: unknown ${what} verb "${verb}" in operation ${i}`);
    return verb;
  };
  const node = obj(raw, "Node");
  if (node) {
    const n = obj(node, "Node") ?? {};
    return {
      Node: {
        Verb: verbOf(node, "Node"),
        Index: num(n, "ModifyIndex"),
        Node: { ID: str(n, "ID"), Node: str(n, "Node"), Address: str(n, "Address"), Datacenter: str(n, "Datacenter") || dc, TaggedAddresses: {}, NodeMeta: {}, Service: null, Checks: [], SkipNodeUpdate: false },
      },
    };
  }
  const service = obj(raw, "Service");
  if (service) {
    const s = obj(service, "Service") ?? {};
    return { Service: { Verb: verbOf(service, "Service"), Node: str(service, "Node"), Service: decodeService(s), Index: num(s, "ModifyIndex") } };
  }
  const check = obj(raw, "Check");
  if (check) {
    const ch = obj(check, "Check") ?? {};
    return { Check: { Verb: verbOf(check, "Check"), Check: decodeCheck(ch, str(ch, "Node")), Index: num(ch, "ModifyIndex") } };
  }
  throw new HttpError(400, `Failed to parse transaction: operation ${i} has no KV, Node, Service or Check`);
}

function resultJson(r: TxnResult): unknown {
  if ("KV" in r) return { KV: dirEntryJson(r.KV, encodeBase64) };
  if ("Service" in r) return { Service: nodeServiceJson(r.Service) };
  return r;
}

function outcomeJson(o: TxnOutcome): { Results: unknown; Errors: unknown } {
  return o.errors.length > 0 ? { Results: null, Errors: o.errors } : { Results: o.results.map(resultJson), Errors: null };
}

export function txnRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/txn", async (c) => {
    const q = queryOptions(c, api);
    checkDatacenter(api, q.datacenter);
    const body = await readJson(c, api.limits.txnMaxReqLen);
    if (!Array.isArray(body)) throw new HttpError(400, "Failed to parse body: transaction must be a JSON list of operations");
    if (body.length > api.limits.txnMaxOps) {
      throw new HttpError(413, `Transaction contains too many operations (${body.length} > ${api.limits.txnMaxOps})`);
    }
    const ops = body.map((raw, i) => decodeOp(raw, i, api.agent.datacenter, api.limits.kvMaxValueSize));
    let outcome: TxnOutcome;
    if (isReadOnlyTxn(ops)) {
      outcome = api.server.state.readTxn(ops);
      setMeta(c, api.server.lastIndex(), q);
    } else {
      const r = await api.server.mustWrite({ Type: MessageType.Txn, Now: api.server.clock.now(), Ops: ops });
      outcome = r.value as TxnOutcome;
    }
    return json(c, outcomeJson(outcome), q, outcome.errors.length > 0 ? 409 : 200);
  });
}
