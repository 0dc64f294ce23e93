/** Coordinate.* endpoints (Consul's agent/consul/coordinate_endpoint.go). */
import { blockingRead } from "./read.ts";
import { ApplyError, type Server } from "../server.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { COORDINATES_TOPIC, coordinateList, coordinatesOfNode } from "../../state/mod.ts";
import { AREA_WAN, COORDINATE_DIMENSIONS, type CoordinateEntry, type CoordinateUpdateRequest, coordinateProblem, type DatacenterMap } from "../../structs/coordinate.ts";

/** Checks the coordinate and queues it for the next batch (the log write happens there). */
export function update(s: Server, a: CoordinateUpdateRequest): true {
  // Older clients could send NaN or infinities, and a coordinate from elsewhere may not match ours in shape.
  const own = s.coordinates.sources.lan?.() ?? null;
  const problem = coordinateProblem(a.Coord, own ? own.Vec.length : COORDINATE_DIMENSIONS);
  if (problem) throw new ApplyError(problem);
  s.coordinates.add({ Node: a.Node, Segment: a.Segment ?? "", Coord: a.Coord });
  return true;
}

/**
 * Each datacenter's servers with their WAN coordinates, from the WAN pool
 * once there is one; until then the local datacenter with none.
 */
export function listDatacenters(s: Server): DatacenterMap[] {
  const byDc = new Map<string, CoordinateEntry[]>([[s.config.datacenter, []]]);
  for (const w of s.coordinates.sources.wan?.() ?? []) {
    let list = byDc.get(w.datacenter);
    if (!list) byDc.set(w.datacenter, (list = []));
    list.push({ Node: w.node, Segment: "", Coord: w.coord });
  }
  const out: DatacenterMap[] = [];
  for (const [dc, coords] of byDc) {
    coords.sort((a, b) => (a.Node < b.Node ? -1 : a.Node > b.Node ? 1 : 0));
    out.push({ Datacenter: dc, AreaID: AREA_WAN, Coordinates: coords });
  }
  return out;
}

export function listNodes(s: Server, _a: unknown, o: RequestOptions): MaybePromise<QueryReply<CoordinateEntry[]>> {
  return blockingRead(s, o, () => [COORDINATES_TOPIC], () => coordinateList(s.state.t));
}

export function node(s: Server, a: { readonly Node: string }, o: RequestOptions): MaybePromise<QueryReply<CoordinateEntry[]>> {
  return blockingRead(s, o, () => [COORDINATES_TOPIC], () => coordinatesOfNode(s.state.t, a.Node));
}
