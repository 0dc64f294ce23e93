/**
 * The coordinates table (Consul's state/coordinate.go): each node's Vivaldi
 * coordinate per network segment, written in batches by the servers
 * (MessageType.CoordinateBatchUpdate) and removed with the node.
 */
import { bump, touch, type WriteContext } from "./context.ts";
import type { Tables } from "./tables.ts";
import { type Coordinate, type CoordinateEntry, isValidCoordinate } from "../structs/coordinate.ts";

export const COORDINATES_TABLE = "coordinates";
/** Watch topic of every coordinate change. */
export const COORDINATES_TOPIC = "coordinates";

export const coordinateKey = (node: string, segment: string): string => `${node}\u0000${segment}`;

/**
 * Upserts a batch. Invalid coordinates (NaN, infinities from an old client)
 * are skipped, and so are nodes the catalog does not know: coordinates are
 * cleaned up with their node, and a node that has not registered yet will
 * send again.
 */
export function applyCoordinateBatch(ctx: WriteContext, updates: readonly CoordinateEntry[]): void {
  const { t } = ctx;
  for (const u of updates) {
    if (!isValidCoordinate(u.Coord)) continue;
    if (!t.nodes.has(u.Node)) continue;
    t.coordinates.set(coordinateKey(u.Node, u.Segment), { Node: u.Node, Segment: u.Segment, Coord: u.Coord });
  }
  bump(ctx, COORDINATES_TABLE);
  touch(ctx, COORDINATES_TOPIC);
}

/** Drops a node's coordinates (the node is being deleted). */
export function deleteNodeCoordinates(ctx: WriteContext, node: string): void {
  const keys = ctx.t.coordinatesByNode.get(node);
  if (!keys || keys.size === 0) return;
  for (const key of [...keys]) ctx.t.coordinates.delete(key);
  bump(ctx, COORDINATES_TABLE);
  touch(ctx, COORDINATES_TOPIC);
}

function byNodeThenSegment(a: CoordinateEntry, b: CoordinateEntry): number {
  const an = a.Node.toLowerCase();
  const bn = b.Node.toLowerCase();
  if (an !== bn) return an < bn ? -1 : 1;
  return a.Segment < b.Segment ? -1 : a.Segment > b.Segment ? 1 : 0;
}

/** Every coordinate, by node then segment, with the table's index. */
export function coordinateList(t: Tables): { index: number; value: CoordinateEntry[] } {
  return { index: t.index(COORDINATES_TABLE), value: [...t.coordinates.values()].sort(byNodeThenSegment) };
}

/** One node's coordinates by segment, with the table's index. */
export function coordinatesOfNode(t: Tables, node: string): { index: number; value: CoordinateEntry[] } {
  const keys = t.coordinatesByNode.get(node);
  const value = keys ? [...keys].map((k) => t.coordinates.get(k)!).sort(byNodeThenSegment) : [];
  return { index: t.index(COORDINATES_TABLE), value };
}

/** A node's coordinates as a segment -> coordinate set (for distance sorting). */
export function coordinateSet(t: Tables, node: string): Map<string, Coordinate> {
  const out = new Map<string, Coordinate>();
  const keys = t.coordinatesByNode.get(node);
  if (keys) for (const k of keys) out.set(t.coordinates.get(k)!.Segment, t.coordinates.get(k)!.Coord);
  return out;
}
