/** `PUT /v1/txn` (Consul's agent/txn_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, json, parseBody, queryOptions, readText, setMeta } from "./context.ts";
import { decodeCheck, decodeService, num, obj, str, strMap } from "./decode_catalog.ts";
import { HttpError } from "./errors.ts";
import { nodeServiceJson } from "./render.ts";
import { isReadOnlyTxn, type TxnError, type TxnOp, type TxnOutcome, type TxnResult } from "../state/mod.ts";
import type { RegisterRequest } from "../structs/catalog.ts";
import { DecodeError } from "../structs/decode.ts";
import { decodeBase64, encodeBase64, field, isObject, toUint64 } from "../structs/json.ts";
import { dirEntryJson, KvVerb } from "../structs/kv.ts";

const KV_VERBS = new Set<string>(Object.values(KvVerb));
const CATALOG_VERBS = new Set(["set", "cas", "get", "delete", "delete-cas"]);

type Obj = Record<string, unknown>;

/**
 * An op Consul would refuse in its pre-checks or in the FSM (unknown verb,
 * missing key, lock-delay): the whole txn answers 409 with it in `Errors`.
 */
class OpRefused extends Error {
  override readonly name = "OpRefused";
}

const parseError = (msg: string): HttpError => new HttpError(400, `Failed to parse body: ${msg}`);

function decodeOp(raw: unknown, i: number, dc: string, maxValue: number): TxnOp {
  if (!isObject(raw)) throw parseError(`operation ${i} is not an object`);
  const kv = obj(raw, "KV");
  if (kv) {
    const verb = str(kv, "Verb");
    const key = str(kv, "Key");
    const value = field(kv, "Value");
    if (value !== undefined && value !== null && (typeof value !== "string" || decodeBase64(value) === null)) {
      throw parseError(`failed to decode value of operation ${i}: illegal base64 data`);
    }
    const size = typeof value === "string" ? decodeBase64(value)!.length : 0;
    if (size > maxValue) throw new HttpError(413, `Value for key "${key}" is too large (${size} > ${maxValue} bytes)`);
    const flags = field(kv, "Flags");
    const f = flags === undefined || flags === null ? 0n : toUint64(flags);
    if (f === null) throw parseError(`invalid Flags in operation ${i}`);
    const session = str(kv, "Session");
    const index = num(kv, "Index");
    if (!KV_VERBS.has(verb)) throw new OpRefused(`unknown KV verb "${verb}"`);
    if (key === "" && verb !== KvVerb.DeleteTree) throw new OpRefused("Must provide key");
    return {
      KV: {
        Verb: verb as KvVerb,
        Entry: { Key: key, Value: typeof value === "string" ? value : null, Flags: f.toString(), Session: session, ModifyIndex: index },
      },
    };
  }
  const verbOf = (o: Obj, what: string): string => {
    const verb = str(o, "Verb");
    if (!CATALOG_VERBS.has(verb)) throw new OpRefused(`unknown ${what} verb "${verb}"`);
    return verb;
  };
  const node = obj(raw, "Node");
  if (node) {
    const n = obj(node, "Node") ?? {};
    const decoded: RegisterRequest = {
      ID: str(n, "ID"),
      Node: str(n, "Node"),
      Address: str(n, "Address"),
      Datacenter: str(n, "Datacenter") || dc,
      TaggedAddresses: strMap(n, "TaggedAddresses", "tagged_addresses"),
      NodeMeta: strMap(n, "Meta", "NodeMeta"),
      Service: null,
      Checks: [],
      SkipNodeUpdate: false,
    };
    return { Node: { Verb: verbOf(node, "Node"), Index: num(n, "ModifyIndex"), Node: decoded } };
  }
  const service = obj(raw, "Service");
  if (service) {
    const s = obj(service, "Service") ?? {};
    const decoded = decodeService(s);
    return { Service: { Verb: verbOf(service, "Service"), Node: str(service, "Node"), Service: decoded, Index: num(s, "ModifyIndex") } };
  }
  const check = obj(raw, "Check");
  if (check) {
    const ch = obj(check, "Check") ?? {};
    const decoded = decodeCheck(ch, str(ch, "Node"));
    return { Check: { Verb: verbOf(check, "Check"), Check: decoded, Index: num(ch, "ModifyIndex") } };
  }
  throw parseError(`operation ${i} has no KV, Node, Service or Check`);
}

/** Decodes every op; type errors stay 400 (with Consul's txn prefix), refusals become TxnErrors. */
function decodeOps(body: unknown[], api: ApiContext): { ops: TxnOp[]; refused: TxnError[] } {
  const ops: TxnOp[] = [];
  const refused: TxnError[] = [];
  body.forEach((raw, i) => {
    try {
      // Lock-delay is checked by the server (Txn.Apply), on its clock.
      ops.push(decodeOp(raw, i, api.agent.datacenter, api.limits.kvMaxValueSize));
    } catch (err) {
      if (err instanceof OpRefused) refused.push({ OpIndex: i, What: err.message });
      else if (err instanceof DecodeError) throw parseError(err.message.replace(/^Request decode failed: /, ""));
      else throw err;
    }
  });
  return { ops, refused };
}

function resultJson(r: TxnResult): unknown {
  if ("KV" in r) return { KV: dirEntryJson(r.KV, encodeBase64) };
  if ("Service" in r) return { Service: nodeServiceJson(r.Service) };
  return r;
}

function outcomeJson(o: TxnOutcome): { Results: unknown; Errors: unknown } {
  return o.errors.length > 0 ? { Results: null, Errors: o.errors } : { Results: o.results.map(resultJson), Errors: null };
}

async function readTxnBody(c: Context, api: ApiContext): Promise<unknown> {
  // Consul allows the larger of the two limits for the whole request.
  const limit = Math.max(api.limits.txnMaxReqLen, api.limits.kvMaxValueSize);
  const text = await readText(c, limit);
  try {
    return parseBody(text);
  } catch (err) {
    throw parseError((err as Error).message);
  }
}

export function txnRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/txn", async (c) => {
    const q = queryOptions(c, api);
    const body = await readTxnBody(c, api);
    if (!Array.isArray(body)) throw parseError("transaction must be a JSON list of operations");
    if (body.length > api.limits.txnMaxOps) {
      throw new HttpError(413, `Transaction contains too many operations (${body.length} > ${api.limits.txnMaxOps})`);
    }
    const { ops, refused } = decodeOps(body, api);
    if (refused.length > 0) return json(c, { Results: null, Errors: refused }, q, 409);
    let outcome: TxnOutcome;
    if (isReadOnlyTxn(ops)) {
      const r = await api.rpc.call("Txn.Read", { Ops: ops }, q);
      outcome = r.value;
      setMeta(c, r, q);
    } else {
      outcome = await api.rpc.call("Txn.Apply", { Ops: ops }, q);
    }
    return json(c, outcomeJson(outcome), q, outcome.errors.length > 0 ? 409 : 200);
  });
}
