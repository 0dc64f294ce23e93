/**
 * The answers of the large instance listings: /v1/catalog/service/:s,
 * /v1/catalog/connect/:s, /v1/health/service/:s and /v1/health/connect/:s.
 * `?filter=` sees the wire shapes with the stored addresses (Consul filters
 * before it translates); the answer is written from the rows themselves
 * (row_json.ts), through the address view of translate_addrs.ts.
 */
import type { Context } from "hono";
import { type ApiContext, applyFilter, isPretty } from "./context.ts";
import type { QueryOptions } from "./query.ts";
import { checkServiceNodeWire } from "./render.ts";
import { bytesAnswer } from "./response_encoding.ts";
import { checkServiceNodesBytes, serviceNodesBytes } from "./row_json.ts";
import { addressView } from "./translate_addrs.ts";
import { checkServiceNodeSchema, serviceNodeSchema } from "../filter/mod.ts";
import type { ServiceNodeRow } from "../rpc/mod.ts";
import type { CheckServiceNode } from "../state/mod.ts";
import { serviceNodeJson } from "../structs/catalog.ts";

const JSON_TYPE = "application/json";

export function serviceNodesAnswer(c: Context, api: ApiContext, q: QueryOptions, rows: ServiceNodeRow[]): Response {
  const kept = applyFilter(rows, q, serviceNodeSchema, (r) => serviceNodeJson(r.node, r.service));
  return bytesAnswer(c, serviceNodesBytes(kept, q.pretty || isPretty(c), addressView(api, q.datacenter)), JSON_TYPE);
}

export function checkServiceNodesAnswer(c: Context, api: ApiContext, q: QueryOptions, rows: CheckServiceNode[]): Response {
  const kept = applyFilter(rows, q, checkServiceNodeSchema, (r) => checkServiceNodeWire(r.Node, r.Service, r.Checks));
  return bytesAnswer(c, checkServiceNodesBytes(kept, q.pretty || isPretty(c), addressView(api, q.datacenter)), JSON_TYPE);
}
