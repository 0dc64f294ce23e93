/**
 * The two large listings written from the stored rows straight into JSON
 * bytes (json_bytes.ts), with no answer objects in between: each function
 * gives the bytes `jsonText(answer, pretty)` gives for the answer that
 * render.ts's shapes would build (`serviceNodeWire` rows for
 * /v1/catalog/service/:s, `checkServiceNodeWire` rows for
 * /v1/health/service/:s), member by member in the same order with the same
 * omissions. test/http/row_json.test.ts holds them to that.
 */
import { JsonBytes } from "./json_bytes.ts";
import { proxyJson, type HealthCheck, type Node, type NodeService } from "../structs/catalog.ts";

export interface JsonChunks {
  readonly chunks: Uint8Array[];
  readonly size: number;
}

/** Whether `Object.keys(o).length > 0`, without the array for an object (and throwing where it throws). */
function hasKeys(o: unknown): boolean {
  if (typeof o !== "object" || o === null) return Object.keys(o as object).length > 0;
  for (const k in o) if (Object.hasOwn(o, k)) return true;
  return false;
}

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});

/** `{...o}` as JSON: o's own enumerable keys, whatever its prototype. */
function spread(w: JsonBytes, o: object, depth: number): void {
  w.open();
  let n = 0;
  const r = o as Record<string, unknown>;
  for (const k in r) if (Object.hasOwn(r, k)) n = w.member(n, k, r[k], depth);
  w.close(n, depth);
}

/** The members of render.ts's nodeServiceJson(s). */
function nodeService(w: JsonBytes, s: NodeService, depth: number): void {
  w.open();
  let n = 0;
  if (s.Kind !== "") n = w.member(n, "Kind", s.Kind, depth);
  n = w.member(n, "ID", s.ID, depth);
  n = w.member(n, "Service", s.Service, depth);
  n = w.member(n, "Tags", s.Tags, depth);
  n = w.member(n, "Address", s.Address, depth);
  if (hasKeys(s.TaggedAddresses)) n = w.member(n, "TaggedAddresses", s.TaggedAddresses, depth);
  n = w.member(n, "Meta", s.Meta, depth);
  n = w.member(n, "Port", s.Port, depth);
  if (s.SocketPath !== "") n = w.member(n, "SocketPath", s.SocketPath, depth);
  n = w.member(n, "Weights", s.Weights, depth);
  n = w.member(n, "EnableTagOverride", s.EnableTagOverride, depth);
  n = proxy(w, n, "Proxy", s.Proxy, depth);
  n = w.member(n, "Connect", s.Connect, depth);
  if (s.Locality) n = w.member(n, "Locality", s.Locality, depth);
  n = w.member(n, "CreateIndex", s.CreateIndex, depth);
  n = w.member(n, "ModifyIndex", s.ModifyIndex, depth);
  w.close(n, depth);
}

/** A `proxyJson(p)` member; the empty proxy most rows share is written without building its object. */
function proxy(w: JsonBytes, count: number, name: string, p: Record<string, unknown>, depth: number): number {
  if (typeof p !== "object" || p === null || hasKeys(p)) return w.member(count, name, proxyJson(p), depth);
  return w.member(count, name, EMPTY_PROXY, depth);
}

/** What proxyJson makes of a proxy without keys. */
const EMPTY_PROXY = Object.freeze({ Mode: "", MeshGateway: EMPTY, Expose: EMPTY });

/** The members of structs/catalog.ts's serviceNodeJson(node, svc), as serviceNodeWire leaves them. */
function serviceNode(w: JsonBytes, node: Node, s: NodeService, depth: number): void {
  w.open();
  let n = 0;
  n = w.member(n, "ID", node.ID, depth);
  n = w.member(n, "Node", node.Node, depth);
  n = w.member(n, "Address", node.Address, depth);
  n = w.member(n, "Datacenter", node.Datacenter, depth);
  n = w.member(n, "TaggedAddresses", node.TaggedAddresses, depth);
  n = w.member(n, "NodeMeta", node.Meta, depth);
  n = w.member(n, "ServiceKind", s.Kind, depth);
  n = w.member(n, "ServiceID", s.ID, depth);
  n = w.member(n, "ServiceName", s.Service, depth);
  n = w.member(n, "ServiceTags", s.Tags, depth);
  n = w.member(n, "ServiceAddress", s.Address, depth);
  if (hasKeys(s.TaggedAddresses)) n = w.member(n, "ServiceTaggedAddresses", s.TaggedAddresses, depth);
  n = w.member(n, "ServiceWeights", s.Weights, depth);
  n = w.member(n, "ServiceMeta", s.Meta, depth);
  n = w.member(n, "ServicePort", s.Port, depth);
  n = w.member(n, "ServiceSocketPath", s.SocketPath, depth);
  n = w.member(n, "ServiceEnableTagOverride", s.EnableTagOverride, depth);
  n = proxy(w, n, "ServiceProxy", s.Proxy, depth);
  n = w.member(n, "ServiceConnect", s.Connect, depth);
  n = w.member(n, "ServiceLocality", s.Locality, depth);
  n = w.member(n, "CreateIndex", s.CreateIndex, depth);
  n = w.member(n, "ModifyIndex", s.ModifyIndex, depth);
  w.close(n, depth);
}

/** Writes `rows` as a JSON array, one `row(w, item, depth)` each. */
function list<T>(rows: readonly T[], pretty: boolean, row: (w: JsonBytes, item: T, depth: number) => void): JsonChunks {
  const w = new JsonBytes(pretty);
  if (rows.length === 0) w.array(rows, 0);
  else {
    w.byte(0x5b);
    for (let i = 0; i < rows.length; i++) {
      if (i > 0) w.byte(0x2c);
      w.lineBreak(1);
      row(w, rows[i]!, 1);
    }
    w.lineBreak(0);
    w.byte(0x5d);
  }
  w.end();
  return w.finish();
}

/** How a node and a service are shown (translate_addrs.ts's AddressView): as stored, or copies with other addresses. */
export interface RowView {
  node(n: Node): Node;
  service(s: NodeService): NodeService;
}

/** `/v1/catalog/service/:s`: `jsonText(pairs.map((r) => serviceNodeWire(view.node(r.node), view.service(r.service))), pretty)` as bytes. */
export function serviceNodesBytes(pairs: readonly { readonly node: Node; readonly service: NodeService }[], pretty: boolean, view: RowView): JsonChunks {
  return list(pairs, pretty, (w, r, depth) => serviceNode(w, view.node(r.node), view.service(r.service), depth));
}

/** `/v1/health/service/:s`: `jsonText(rows.map((r) => checkServiceNodeWire(view.node(r.Node), view.service(r.Service), r.Checks)), pretty)` as bytes. */
export function checkServiceNodesBytes(
  rows: readonly { readonly Node: Node; readonly Service: NodeService; readonly Checks: readonly HealthCheck[] }[],
  pretty: boolean,
  view: RowView,
): JsonChunks {
  return list(rows, pretty, (w, r, depth) => {
    w.open();
    w.key(0, "Node", depth);
    spread(w, view.node(r.Node), depth + 1);
    w.key(1, "Service", depth);
    nodeService(w, view.service(r.Service), depth + 1);
    const n = w.member(2, "Checks", r.Checks, depth);
    w.close(n, depth);
  });
}
