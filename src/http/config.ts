/** `/v1/config` (Consul's agent/config_endpoint.go): config entries. */
import type { Context, Hono } from "hono";
import { type ApiContext, json, parseBody, queryOptions, readText, reply, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { QueryOptions } from "./query.ts";
import { filterSchemaOf } from "../configentry/filter_schema.ts";
import { ConfigEntryDecodeError, decodeConfigEntry, isKnownKind, kindDef, renderConfigEntry, type StoredConfigEntry } from "../configentry/registry.ts";
import { compileFilter, type FieldSchema } from "../filter/mod.ts";

export const CONFIG_ENTRY_NOT_FOUND = "Config entry not found";

/** `?cas=` as Go's strconv.ParseUint reads it; a bad value is answered 500 with Go's text, as Consul does. */
export function parseCas(url: URL): number | undefined {
  const cas = url.searchParams.get("cas");
  if (cas === null || cas === "") return undefined;
  if (!/^\d+$/.test(cas) || !Number.isSafeInteger(Number(cas))) throw new HttpError(500, `strconv.ParseUint: parsing ${JSON.stringify(cas)}: invalid syntax`);
  return Number(cas);
}

function checkKind(kind: string): void {
  if (!isKnownKind(kind)) throw new HttpError(400, `invalid config entry kind: ${kind}`);
}

const filterSchemas = new Map<string, FieldSchema>();

function filterSchema(kind: string): FieldSchema {
  let fs = filterSchemas.get(kind);
  if (!fs) {
    const base = filterSchemaOf(kindDef(kind).schema) as { kind: "struct"; fields: Record<string, FieldSchema> };
    fs = { kind: "struct", fields: { ...base.fields, CreateIndex: { kind: "number" }, ModifyIndex: { kind: "number" } } };
    filterSchemas.set(kind, fs);
  }
  return fs;
}

function renderList(c: Context, kind: string) {
  return (rows: StoredConfigEntry[], q: QueryOptions) => {
    let out = rows.map(renderConfigEntry);
    if (q.filter !== "") {
      const pred = compileFilter(q.filter, filterSchema(kind));
      out = out.filter((e) => pred(e));
    }
    return json(c, out, q);
  };
}

export function configRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/config", async (c) => {
    const q = queryOptions(c, api);
    const text = await readText(c, 64 * 1024 * 1024);
    let raw: unknown;
    try {
      raw = text.trim() === "" ? null : parseBody(text);
    } catch (err) {
      throw new HttpError(400, `Request decoding failed: ${(err as Error).message}`);
    }
    let entry;
    try {
      entry = decodeConfigEntry(raw);
    } catch (err) {
      if (err instanceof ConfigEntryDecodeError) throw new HttpError(400, `Request decoding failed: ${err.message}`);
      throw err;
    }
    const cas = parseCas(urlOf(c));
    const ok = await api.rpc.call("ConfigEntry.Apply", cas === undefined ? { Op: "upsert", Entry: entry } : { Op: "upsert-cas", Entry: entry, Index: cas }, q);
    return json(c, ok, q);
  });

  app.get("/v1/config/:kind", (c) => {
    const q = queryOptions(c, api);
    const kind = c.req.param("kind");
    checkKind(kind);
    if (q.filter !== "") compileFilter(q.filter, filterSchema(kind)); // a bad filter is refused before any wait
    return reply(c, q, api.rpc.call("ConfigEntry.List", { Kind: kind }, q), renderList(c, kind));
  });

  app.get("/v1/config/:kind/:name{.+}", (c) => {
    const q = queryOptions(c, api);
    const kind = c.req.param("kind");
    const name = c.req.param("name");
    checkKind(kind);
    return reply(c, q, api.rpc.call("ConfigEntry.Get", { Kind: kind, Name: name }, q), (row) => {
      if (!row) throw new HttpError(404, `${CONFIG_ENTRY_NOT_FOUND} for ${JSON.stringify(kind)} / ${JSON.stringify(name)}`);
      return json(c, renderConfigEntry(row), q);
    });
  });

  app.delete("/v1/config/:kind/:name{.+}", async (c) => {
    const q = queryOptions(c, api);
    const kind = c.req.param("kind");
    checkKind(kind);
    const cas = parseCas(urlOf(c));
    const r = await api.rpc.call("ConfigEntry.Delete", { Kind: kind, Name: c.req.param("name"), ...(cas === undefined ? {} : { CAS: cas }) }, q);
    // A CAS delete says whether it happened; a plain one answers {} as Consul always has.
    return json(c, cas === undefined ? {} : r.Deleted, q);
  });

  app.delete("/v1/config/:kind", () => {
    throw new HttpError(404, "Must provide both a kind and name to delete");
  });
}
