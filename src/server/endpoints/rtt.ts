/**
 * `?near=` sorting (Consul's agent/consul/rtt.go): results by estimated round
 * trip from the source node, nearest first; rows whose node has no coordinate
 * keep their order at the end. Without a source coordinate nothing moves.
 */
import type { Server } from "../server.ts";
import type { Near } from "../../rpc/methods.ts";
import type { QueryReply } from "../../rpc/types.ts";
import { coordinateSet, type Tables } from "../../state/mod.ts";
import { computeDistance, intersect } from "../../structs/coordinate.ts";

export function sortByNear<T>(t: Tables, near: string | undefined, rows: readonly T[], nodeOf: (row: T) => string): T[] {
  if (near === undefined || near === "" || rows.length < 2) return rows as T[];
  const source = coordinateSet(t, near);
  if (source.size === 0) return rows as T[];
  const byNode = new Map<string, number>();
  const keyed = rows.map((row, i) => {
    const n = nodeOf(row);
    let d = byNode.get(n);
    if (d === undefined) {
      const [a, b] = intersect(source, coordinateSet(t, n));
      byNode.set(n, (d = computeDistance(a, b)));
    }
    return { row, d, i };
  });
  // Stable: equal distances (and every missing coordinate, at +Infinity) keep their order.
  keyed.sort((x, y) => (x.d < y.d ? -1 : x.d > y.d ? 1 : x.i - y.i));
  return keyed.map((k) => k.row);
}

/** A read's reply with its rows sorted for `a.Near`. */
export function near<T>(s: Server, a: Near, r: QueryReply<T[]>, nodeOf: (row: T) => string): QueryReply<T[]> {
  if (a.Near === undefined || a.Near === "") return r;
  return { ...r, value: sortByNear(s.state.t, a.Near, r.value, nodeOf) };
}
