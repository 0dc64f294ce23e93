/**
 * `/v1/connect/intentions` (Consul's agent/intentions_endpoint.go), served from
 * `service-intentions` config entries as Consul 1.9+ does.
 */
import type { Context, Hono } from "hono";
import { type ApiContext, json, parseBody, queryOptions, readText, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { QueryOptions } from "./query.ts";
import { decodeWithSchema } from "../configentry/decode.ts";
import type { IntentionInput } from "../configentry/intention_view.ts";
import { sourceIntentionSchema } from "../configentry/kinds/intentions.ts";
import type { Obj } from "../configentry/kinds/kind.ts";
import { compileFilter, intentionSchema } from "../filter/mod.ts";
import { field, isObject } from "../structs/json.ts";
import type { Intention } from "../structs/intention.ts";

/** A source or destination as the API names it: `name`, `ns/name`, `ap/ns/name` or `peer:<peer>/name`. */
export interface ParsedName {
  readonly peer: string;
  readonly partition: string;
  readonly namespace: string;
  readonly name: string;
}

/** Consul's parseIntentionStringComponent. */
export function parseIntentionName(input: string, allowPeer: boolean): ParsedName {
  if (input.startsWith("peer:") && !allowPeer) throw new Error("cannot specify a peer here");
  const parts = input.split("/");
  switch (parts.length) {
    case 1:
      if (parts[0]!.startsWith("peer:")) throw new Error("need to specify the service name as well");
      return { peer: "", partition: "", namespace: "", name: parts[0]! };
    case 2:
      if (parts[0]!.startsWith("peer:")) return { peer: parts[0]!.slice(5), partition: "", namespace: "", name: parts[1]! };
      return { peer: "", partition: "", namespace: parts[0]!, name: parts[1]! };
    case 3:
      if (parts[0]!.startsWith("peer:")) return { peer: parts[0]!.slice(5), partition: "", namespace: parts[1]!, name: parts[2]! };
      return { peer: "", partition: parts[0]!, namespace: parts[1]!, name: parts[2]! };
    default:
      throw new Error("input can contain at most two '/'");
  }
}

function one(url: URL, name: string, nonEmpty: boolean): string {
  const all = url.searchParams.getAll(name);
  if (all.length !== 1 || (nonEmpty && all[0] === "")) throw new HttpError(500, `required query parameter '${name}' not set`);
  return all[0]!;
}

function parsed(what: "source" | "destination", value: string, allowPeer = false): ParsedName {
  try {
    const p = parseIntentionName(value, allowPeer);
    if (p.partition !== "" && p.partition !== "default") throw new Error("Partitions is a Consul Enterprise feature");
    return p;
  } catch (err) {
    throw new HttpError(500, `${what} ${JSON.stringify(value)} is invalid: ${(err as Error).message}`);
  }
}

function str(o: Obj, name: string, what: string): string {
  const v = field(o, name);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new TypeError(`json: cannot unmarshal ${Array.isArray(v) ? "array" : typeof v} into Go struct field ${what}.${name} of type string`);
  return v;
}

/** Decodes an Intention body as Go's encoding/json does: case-insensitive names, unknown fields ignored. */
export function decodeIntentionBody(raw: unknown): IntentionInput {
  const o: Obj = raw === null ? {} : isObject(raw) ? raw : (() => {
    throw new TypeError(`json: cannot unmarshal ${Array.isArray(raw) ? "array" : typeof raw} into Go value of type structs.Intention`);
  })();
  const metaRaw = field(o, "Meta");
  if (metaRaw !== undefined && metaRaw !== null && (!isObject(metaRaw) || Object.values(metaRaw).some((v) => typeof v !== "string"))) {
    throw new TypeError("json: cannot unmarshal into Go struct field Intention.Meta of type map[string]string");
  }
  let permissions: Obj[] | undefined;
  const permsRaw = field(o, "Permissions");
  if (permsRaw !== undefined && permsRaw !== null) {
    const d = decodeWithSchema({ Name: "x", Permissions: permsRaw }, sourceIntentionSchema);
    if (d.errors.length > 0) throw new TypeError(d.errors[0]!);
    permissions = ((d.value as Obj).Permissions as Obj[] | undefined) ?? [];
  }
  return {
    ID: str(o, "ID", "Intention"),
    Description: str(o, "Description", "Intention"),
    SourceName: str(o, "SourceName", "Intention"),
    SourceNS: str(o, "SourceNS", "Intention"),
    SourcePeer: str(o, "SourcePeer", "Intention"),
    SourcePartition: str(o, "SourcePartition", "Intention"),
    DestinationName: str(o, "DestinationName", "Intention"),
    DestinationNS: str(o, "DestinationNS", "Intention"),
    DestinationPartition: str(o, "DestinationPartition", "Intention"),
    SourceType: str(o, "SourceType", "Intention"),
    Action: str(o, "Action", "Intention"),
    Permissions: permissions,
    Meta: (metaRaw as Record<string, string> | undefined | null) ?? {},
  };
}

async function body(c: Context): Promise<unknown> {
  const text = await readText(c, 64 * 1024 * 1024);
  if (text.trim() === "") return null;
  return parseBody(text);
}

/** The body of a write, with Consul's two wordings of a decode failure. */
async function intentionBody(c: Context, style: "create" | "update"): Promise<IntentionInput> {
  try {
    return decodeIntentionBody(await body(c));
  } catch (err) {
    const msg = (err as Error).message;
    if (style === "create") throw new HttpError(400, `Failed to decode request body: ${msg}`);
    throw new HttpError(400, `Request decode failed: ${msg}`);
  }
}

function noPartitions(ixn: IntentionInput): void {
  if (ixn.DestinationPartition !== "" && ixn.DestinationPartition !== "default") throw new HttpError(400, "Cannot specify a destination partition with this endpoint");
  if (ixn.SourcePartition !== "" && ixn.SourcePartition !== "default") throw new HttpError(400, "Cannot specify a source partition with this endpoint");
}

const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;

/** memdb's UUID index refuses malformed IDs before any lookup; Consul answers those with 400. */
function checkUuid(id: string): void {
  if (id.length !== 36) throw new HttpError(400, "failed config entry lookup: UUID must be 36 characters");
  if (!UUID.test(id)) throw new HttpError(400, "failed config entry lookup: UUID must be formatted as 8-4-4-4-12");
}

function exactNames(url: URL): { source: ParsedName; destination: ParsedName } {
  const source = parsed("source", one(url, "source", true));
  const destination = parsed("destination", one(url, "destination", true));
  return { source, destination };
}

function withNames(ixn: IntentionInput, source: ParsedName, destination: ParsedName): IntentionInput {
  return {
    ...ixn,
    ID: "",
    SourceName: source.name,
    SourceNS: source.namespace,
    SourcePartition: "",
    DestinationName: destination.name,
    DestinationNS: destination.namespace,
    DestinationPartition: "",
  };
}

const single = (c: Context) => (ixn: Intention, q: QueryOptions) => json(c, ixn, q);

export function intentionRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/connect/intentions", (c) => {
    const q = queryOptions(c, api);
    if (q.filter !== "") compileFilter(q.filter, intentionSchema);
    return reply(c, q, api.rpc.call("Intention.List", { Filter: q.filter }, q), (rows) => json(c, rows, q));
  });

  app.post("/v1/connect/intentions", async (c) => {
    const q = queryOptions(c, api);
    const ixn = await intentionBody(c, "create");
    noPartitions(ixn);
    const id = await api.rpc.call("Intention.Apply", { Op: "create", Intention: ixn }, q);
    return json(c, { ID: id }, q);
  });

  app.get("/v1/connect/intentions/match", (c) => {
    const q = queryOptions(c, api);
    const url = urlOf(c);
    const by = url.searchParams.getAll("by");
    if (by.length !== 1) throw new HttpError(500, "required query parameter 'by' not set");
    if (by[0] !== "source" && by[0] !== "destination") throw new HttpError(500, "'by' parameter must be one of 'source' or 'destination'");
    const names = url.searchParams.getAll("name");
    if (names.length === 0) throw new HttpError(500, "required query parameter 'name' not set");
    const entries = names.map((n) => {
      try {
        const p = parseIntentionName(n, false);
        if (p.namespace !== "" && p.namespace !== "default") throw new Error("Namespaces is a Consul Enterprise feature");
        return p.name;
      } catch (err) {
        throw new HttpError(500, `name ${JSON.stringify(n)} is invalid: ${(err as Error).message}`);
      }
    });
    return reply(c, q, api.rpc.call("Intention.Match", { Type: by[0], Names: entries }, q), (matches) => {
      const out: Record<string, Intention[]> = {};
      names.forEach((n, i) => (out[n] = matches[i] ?? []));
      return json(c, out, q);
    });
  });

  app.get("/v1/connect/intentions/check", async (c) => {
    const q = queryOptions(c, api);
    const url = urlOf(c);
    const sourceType = url.searchParams.get("source-type") || "consul";
    const source = one(url, "source", false);
    const destination = one(url, "destination", false);
    const src = sourceType === "consul" ? parsed("source", source) : { peer: "", partition: "", namespace: "", name: source };
    const dst = parsed("destination", destination);
    const r = await api.rpc.call(
      "Intention.Check",
      { SourceName: src.name, SourceNS: src.namespace, DestinationName: dst.name, DestinationNS: dst.namespace, SourceType: sourceType },
      q,
    );
    return json(c, r, q);
  });

  app.get("/v1/connect/intentions/exact", (c) => {
    const q = queryOptions(c, api);
    const url = urlOf(c);
    const source = parsed("source", one(url, "source", false), true);
    const destination = parsed("destination", one(url, "destination", false));
    for (const [what, p] of [["SourceNS", source], ["DestinationNS", destination]] as const) {
      if (p.namespace !== "" && p.namespace !== "default") throw new HttpError(500, `Invalid ${what} ${JSON.stringify(p.namespace)}: Namespaces is a Consul Enterprise feature`);
    }
    if (source.peer !== "") throw new NotFound();
    return reply(c, q, api.rpc.call("Intention.Get", { Exact: { SourceName: source.name, DestinationName: destination.name } }, q), single(c));
  });

  app.put("/v1/connect/intentions/exact", async (c) => {
    const q = queryOptions(c, api);
    const { source, destination } = exactNames(urlOf(c));
    const ixn = withNames(await intentionBody(c, "update"), source, destination);
    await api.rpc.call("Intention.Apply", { Op: "upsert", Intention: ixn }, q);
    return json(c, true, q);
  });

  app.delete("/v1/connect/intentions/exact", async (c) => {
    const q = queryOptions(c, api);
    const { source, destination } = exactNames(urlOf(c));
    const ixn = withNames(decodeIntentionBody(null), source, destination);
    await api.rpc.call("Intention.Apply", { Op: "delete", Intention: ixn }, q);
    return json(c, true, q);
  });

  app.get("/v1/connect/intentions/:id", (c) => {
    const q = queryOptions(c, api);
    const id = c.req.param("id");
    checkUuid(id);
    return reply(c, q, api.rpc.call("Intention.Get", { IntentionID: id }, q), single(c));
  });

  app.put("/v1/connect/intentions/:id", async (c) => {
    const q = queryOptions(c, api);
    const ixn = await intentionBody(c, "update");
    noPartitions(ixn);
    await api.rpc.call("Intention.Apply", { Op: "update", Intention: { ...ixn, ID: c.req.param("id") } }, q);
    return c.body(null, 200);
  });

  app.delete("/v1/connect/intentions/:id", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("Intention.Apply", { Op: "delete", Intention: { ...decodeIntentionBody(null), ID: c.req.param("id") } }, q);
    return c.body(null, 200);
  });
}

/** A peer source has no local entry to show (Consul's lookup finds nothing). */
class NotFound extends HttpError {
  constructor() {
    super(404, "Intention not found");
  }
}

