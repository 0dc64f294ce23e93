/**
 * The passes over an assembled chain graph, as Consul's compiler runs them
 * after building the nodes: refuse loops, flatten splitters that lead into
 * splitters (weights multiplied, header changes merged), drop what the start
 * node no longer reaches. Each works on the node map in place.
 */
import { GraphError } from "../../configentry/graph.ts";
import { o, type Obj, strs } from "../../configentry/kinds/kind.ts";
import { type DiscoverySplit, type GraphNode, NodeType } from "./types.ts";

/** Weights are kept to two decimals (Consul's NormalizeServiceSplitWeight). */
export const normalizeWeight = (w: number): number => Math.round(w * 100) / 100;

/** Consul's MergeHTTPHeaderModifiers: the child's Add/Set win, Remove lists concatenate. */
function mergeHeaderMods(parent: Obj | undefined, child: Obj | undefined): Obj | undefined {
  if (!parent) return child;
  if (!child) return parent;
  return {
    Add: { ...(o(parent, "Add") ?? {}), ...(o(child, "Add") ?? {}) },
    Set: { ...(o(parent, "Set") ?? {}), ...(o(child, "Set") ?? {}) },
    Remove: [...strs(parent, "Remove"), ...strs(child, "Remove")],
  };
}

function mergeSplitParent(child: Obj, parent: Obj): Obj {
  const out: Obj = { ...child };
  const req = mergeHeaderMods(o(parent, "RequestHeaders"), o(child, "RequestHeaders"));
  const resp = mergeHeaderMods(o(parent, "ResponseHeaders"), o(child, "ResponseHeaders"));
  if (req) out.RequestHeaders = req;
  if (resp) out.ResponseHeaders = resp;
  return out;
}

/** The keys of the nodes a node leads to. */
function nextKeys(node: GraphNode): string[] {
  if (node.Type === NodeType.Router) return node.Routes!.map((r) => r.NextNode);
  if (node.Type === NodeType.Splitter) return node.Splits!.map((sp) => sp.NextNode);
  return [];
}

/** Throws GraphError naming the loop when a path from `start` comes back to a node on it. */
export function detectCircularReferences(nodes: ReadonlyMap<string, GraphNode>, start: string): void {
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (key: string) => {
    path.push(key);
    if (onPath.has(key)) throw new GraphError(`detected circular reference: [${path.join(" -> ")}]`);
    onPath.add(key);
    for (const next of nextKeys(nodes.get(key)!)) visit(next);
    onPath.delete(key);
    path.pop();
  };
  visit(start);
}

/** Replaces each split leading into another splitter by that splitter's splits, until none does. */
export function flattenAdjacentSplitters(nodes: ReadonlyMap<string, GraphNode>): void {
  for (let changed = true; changed; ) {
    changed = false;
    for (const node of nodes.values()) {
      if (node.Type !== NodeType.Splitter) continue;
      const fixed: DiscoverySplit[] = [];
      let here = false;
      for (const split of node.Splits!) {
        const next = nodes.get(split.NextNode)!;
        if (next.Type !== NodeType.Splitter) {
          fixed.push(split);
          continue;
        }
        here = true;
        for (const inner of next.Splits!) {
          fixed.push({ Definition: mergeSplitParent(inner.Definition, split.Definition), Weight: normalizeWeight((split.Weight * inner.Weight) / 100), NextNode: inner.NextNode });
        }
      }
      if (here) {
        node.Splits = fixed;
        changed = true;
      }
    }
  }
}

/** Deletes the nodes `start` does not reach. */
export function removeUnusedNodes(nodes: Map<string, GraphNode>, start: string): void {
  const seen = new Set<string>();
  const todo = [start];
  while (todo.length > 0) {
    const key = todo.pop()!;
    if (seen.has(key)) continue;
    seen.add(key);
    const node = nodes.get(key);
    if (!node) throw new Error(`compilation references non-retained node ${JSON.stringify(key)}`);
    todo.push(...nextKeys(node));
  }
  for (const key of [...nodes.keys()]) if (!seen.has(key)) nodes.delete(key);
}
