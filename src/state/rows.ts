/**
 * Stored catalog rows, built field by field. A dev agent holds 100,000
 * instances and more, so a row's size is what matters:
 * - every row of a table gets one shape (V8 gives an object made by a spread
 *   in a hot loop a hidden class of its own, some 900 bytes per row);
 * - the empty maps and lists most rows carry (TaggedAddresses, Meta, Proxy,
 *   Connect, Definition, Tags) and the default Weights are one shared, frozen
 *   value each, and so is each tag list (up to MAX_TAG_LISTS of them), so a
 *   stray write into a stored row throws instead of changing every row that
 *   shares it.
 * Field order is the order the wire shapes list (reads serialize rows as
 * they are).
 */
import type { HealthCheck, Node, NodeService, Weights } from "../structs/catalog.ts";

type Indexes = "CreateIndex" | "ModifyIndex";

const EMPTY: Readonly<Record<string, never>> = Object.freeze({});
const NO_TAGS: readonly string[] = Object.freeze([]);
const DEFAULT_WEIGHTS: Readonly<Weights> = Object.freeze({ Passing: 1, Warning: 1 });

/** The shared empty object for an object without keys; the object itself otherwise. */
function compact<T extends object>(o: T): T {
  if (o === null || o === undefined) return o;
  for (const _ in o) return o;
  return EMPTY as T;
}

/** Tag lists by content: the instances of a service mostly carry one of a few. */
const tagLists = new Map<string, string[]>();
/** Past this many distinct lists (unique tags per instance), a new list is kept as given. */
const MAX_TAG_LISTS = 4096;

function compactList(list: string[]): string[] {
  if (!Array.isArray(list)) return list;
  if (list.length === 0) return NO_TAGS as string[];
  const key = JSON.stringify(list);
  const known = tagLists.get(key);
  if (known !== undefined) return known;
  if (tagLists.size >= MAX_TAG_LISTS) return list;
  const shared = Object.freeze([...list]) as string[];
  tagLists.set(key, shared);
  return shared;
}

function compactWeights(w: Weights): Weights {
  return w?.Passing === 1 && w.Warning === 1 && Object.keys(w).length === 2 ? (DEFAULT_WEIGHTS as Weights) : w;
}

export function nodeRow(n: Omit<Node, Indexes>, createIndex: number, modifyIndex: number): Node {
  return {
    ID: n.ID,
    Node: n.Node,
    Address: n.Address,
    Datacenter: n.Datacenter,
    TaggedAddresses: compact(n.TaggedAddresses),
    Meta: compact(n.Meta),
    CreateIndex: createIndex,
    ModifyIndex: modifyIndex,
  };
}

export function serviceRow(s: Omit<NodeService, Indexes>, createIndex: number, modifyIndex: number): NodeService {
  return {
    Kind: s.Kind,
    ID: s.ID,
    Service: s.Service,
    Tags: compactList(s.Tags),
    Address: s.Address,
    TaggedAddresses: compact(s.TaggedAddresses),
    Meta: compact(s.Meta),
    Port: s.Port,
    SocketPath: s.SocketPath,
    Weights: compactWeights(s.Weights),
    EnableTagOverride: s.EnableTagOverride,
    Proxy: compact(s.Proxy),
    Connect: compact(s.Connect),
    Locality: s.Locality,
    CreateIndex: createIndex,
    ModifyIndex: modifyIndex,
  };
}

export function checkRow(c: Omit<HealthCheck, Indexes>, createIndex: number, modifyIndex: number): HealthCheck {
  const { Node, CheckID, Name, Status, Notes, Output, ServiceID, ServiceName, Type, Interval, Timeout, ExposedPort } = c;
  // One literal (never a spread, which would give the row a shape of its own).
  return {
    Node, CheckID, Name, Status, Notes, Output, ServiceID, ServiceName, ServiceTags: compactList(c.ServiceTags),
    Type, Interval, Timeout, ExposedPort, Definition: compact(c.Definition), CreateIndex: createIndex, ModifyIndex: modifyIndex,
  };
}
