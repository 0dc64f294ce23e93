/** `/v1/coordinate/*` (Consul's agent/coordinate_endpoint.go) and the `?near=` parameter. */
import type { Hono } from "hono";
import { type ApiContext, json, queryOptions, readJson, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { Near } from "../rpc/methods.ts";
import { type CoordinateEntry, type CoordinateUpdateRequest } from "../structs/coordinate.ts";
import { DecodeError, num, obj, type Obj, requireObject, str } from "../structs/decode.ts";
import { field } from "../structs/json.ts";

/** `?near=<node>` (or `_agent`, this agent's node) as RPC arguments; empty when absent. */
export function nearArg(url: URL, api: ApiContext): Near {
  const near = url.searchParams.get("near");
  if (near === null || near === "") return {};
  return { Near: near === "_agent" ? api.agent.nodeName : near };
}

/** `?segment=` keeps only that segment's coordinates ("" is the default segment). */
function bySegment(url: URL, list: readonly CoordinateEntry[]): CoordinateEntry[] {
  if (!url.searchParams.has("segment")) return [...list];
  const segment = url.searchParams.get("segment") ?? "";
  return list.filter((c) => c.Segment === segment);
}

function decodeUpdate(body: unknown): CoordinateUpdateRequest {
  const o = requireObject(body);
  const coord = obj(o, "Coord");
  const c: Obj = coord ?? {};
  const vec = field(c, "Vec");
  if (vec !== undefined && vec !== null && (!Array.isArray(vec) || vec.some((v) => typeof v !== "number" || !Number.isFinite(v)))) {
    throw new DecodeError("Request decode failed: Coord.Vec must be a list of numbers");
  }
  return {
    Node: str(o, "Node"),
    Segment: str(o, "Segment"),
    Coord: {
      Vec: Array.isArray(vec) ? (vec as number[]) : [],
      Error: num(c, "Error"),
      Adjustment: num(c, "Adjustment"),
      Height: num(c, "Height"),
    },
  };
}

export function coordinateRoutes(app: Hono, api: ApiContext): void {
  const disabled = (): boolean => api.agent.disableCoordinates === true;

  app.get("/v1/coordinate/datacenters", async (c) => {
    if (disabled()) return c.text("Coordinate support disabled", 401);
    const q = queryOptions(c, api);
    const maps = await api.rpc.call("Coordinate.ListDatacenters", {}, q);
    return json(c, maps, q);
  });

  app.get("/v1/coordinate/nodes", (c) => {
    if (disabled()) return c.text("Coordinate support disabled", 401);
    const url = urlOf(c);
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Coordinate.ListNodes", {}, q), (list, q) => json(c, bySegment(url, list), q));
  });

  app.get("/v1/coordinate/node/:node", (c) => {
    if (disabled()) return c.text("Coordinate support disabled", 401);
    const url = urlOf(c);
    const q = queryOptions(c, api);
    const node = c.req.param("node") ?? "";
    return reply(c, q, api.rpc.call("Coordinate.Node", { Node: node }, q), (list, q) => {
      const out = bySegment(url, list);
      // Consul answers 404 with an empty body when the node has no coordinate.
      if (out.length === 0) return c.body(null, 404);
      return json(c, out, q);
    });
  });

  app.put("/v1/coordinate/update", async (c) => {
    if (disabled()) return c.text("Coordinate support disabled", 401);
    const q = queryOptions(c, api);
    let req: CoordinateUpdateRequest;
    try {
      req = decodeUpdate(await readJson(c));
    } catch (err) {
      if (err instanceof DecodeError) throw new HttpError(400, err.message);
      throw err;
    }
    await api.rpc.call("Coordinate.Update", req, q);
    return c.body(null, 200);
  });
}
