/**
 * Network coordinates on the wire (Consul's structs.Coordinate,
 * DatacenterMap, CoordinateUpdateRequest) and the distance rules of
 * lib/rtt.go. The Vivaldi coordinate itself and its distance are Serf's, kept
 * with the gossip code that computes them (src/gossip/coordinate.ts).
 */
import { type Coordinate, distance, isCompatible, isValidCoordinate } from "../gossip/coordinate.ts";

export type { Coordinate };
export { isCompatible, isValidCoordinate };

/** One node's coordinate in one network segment ("" outside Enterprise segments). */
export interface CoordinateEntry {
  readonly Node: string;
  readonly Segment: string;
  readonly Coord: Coordinate;
}

/** A datacenter's servers with their WAN coordinates (`/v1/coordinate/datacenters`). */
export interface DatacenterMap {
  readonly Datacenter: string;
  readonly AreaID: string;
  readonly Coordinates: CoordinateEntry[];
}

/** `PUT /v1/coordinate/update` and the Coordinate.Update RPC. */
export interface CoordinateUpdateRequest {
  readonly Node: string;
  readonly Segment: string;
  readonly Coord: Coordinate;
}

/** The WAN area every server belongs to (types.AreaWAN). */
export const AREA_WAN = "wan";

/** Vivaldi's dimensionality in Serf's default configuration, which Consul never changes. */
export const COORDINATE_DIMENSIONS = 8;

/**
 * Estimated round trip in seconds between two coordinates; +Infinity when
 * either is missing or they do not share a dimensionality, so such nodes sort
 * last (lib.ComputeDistance).
 */
export function computeDistance(a: Coordinate | null | undefined, b: Coordinate | null | undefined): number {
  if (!a || !b || !isCompatible(a, b)) return Number.POSITIVE_INFINITY;
  return distance(a, b);
}

/**
 * A node's coordinates by segment. Of two sets, the pair to compare is the
 * one in the default segment, unless either node is in exactly one segment,
 * which then decides (lib.CoordinateSet.Intersect: a client is in one
 * segment, a server in all).
 */
export type CoordinateSet = ReadonlyMap<string, Coordinate>;

export function intersect(a: CoordinateSet, b: CoordinateSet): [Coordinate | null, Coordinate | null] {
  let segment = "";
  if (a.size === 1) segment = a.keys().next().value!;
  if (b.size === 1) segment = b.keys().next().value!;
  return [a.get(segment) ?? null, b.get(segment) ?? null];
}

/**
 * Checks an incoming coordinate as Coordinate.Update does; returns Consul's
 * error text, or null when it is acceptable.
 */
export function coordinateProblem(c: Coordinate, dimensions = COORDINATE_DIMENSIONS): string | null {
  if (!isValidCoordinate(c)) return "invalid coordinate";
  if (c.Vec.length !== dimensions) return "incompatible coordinate";
  return null;
}
