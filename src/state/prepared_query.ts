/**
 * Prepared queries table (Consul's state/prepared_query.go): unique IDs,
 * unique case-insensitive names, at most one catch-all template, queries
 * bound to a session go with it. Resolution by ID, then exact name, then the
 * template whose name is the longest prefix of what was asked.
 */
import type { PreparedQueryCommand } from "./commands.ts";
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import { cmp, type Tables } from "./tables.ts";
import { compiledOf, compileTemplate, isTemplate, renderTemplate, TemplateError, type TemplateSource } from "../query/template.ts";
import { isUuid, type PreparedQuery } from "../structs/prepared_query.ts";

export const QUERIES_TABLE = "prepared-queries";
export const QUERIES_TOPIC = "prepared-queries";

/** Consul's ErrMissingQueryID. */
export const MISSING_QUERY_ID = "Missing Query ID";

function byName(t: Tables, name: string): PreparedQuery | undefined {
  const id = t.queriesByName.get(name.toLowerCase());
  return id === undefined ? undefined : t.preparedQueries.get(id);
}

function set(ctx: WriteContext, query: PreparedQuery): string {
  const { t } = ctx;
  if (query.ID === "") throw new StateError(MISSING_QUERY_ID);
  const existing = t.preparedQueries.get(query.ID);
  if (query.Name !== "") {
    const other = byName(t, query.Name);
    if (other && other.ID !== query.ID) throw new StateError(`name '${query.Name}' aliases an existing query name`);
  } else if (isTemplate(query)) {
    const id = t.queryTemplates.get("");
    if (id !== undefined && id !== query.ID) throw new StateError("a query template with an empty name already exists");
  }
  if (isUuid(query.Name) && t.preparedQueries.has(query.Name)) throw new StateError(`name '${query.Name}' aliases an existing query ID`);
  if (query.Session !== "" && !t.sessions.has(query.Session)) throw new StateError(`invalid session ${JSON.stringify(query.Session)}`);
  if (isTemplate(query)) {
    try {
      compileTemplate(query);
    } catch (err) {
      if (err instanceof TemplateError) throw new StateError(`failed compiling template: ${err.message}`);
      throw err;
    }
  }
  t.preparedQueries.set(query.ID, { ...query, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
  bump(ctx, QUERIES_TABLE);
  touch(ctx, QUERIES_TOPIC);
  return query.ID;
}

function remove(ctx: WriteContext, id: string): void {
  if (!ctx.t.preparedQueries.has(id)) return;
  ctx.t.preparedQueries.delete(id);
  bump(ctx, QUERIES_TABLE);
  touch(ctx, QUERIES_TOPIC);
}

export function applyPreparedQuery(ctx: WriteContext, cmd: PreparedQueryCommand): string {
  if (cmd.Op === "delete") {
    remove(ctx, cmd.Query.ID);
    return cmd.Query.ID;
  }
  if (cmd.Op === "update" && !ctx.t.preparedQueries.has(cmd.Query.ID)) {
    throw new StateError(`Cannot modify non-existent prepared query: '${cmd.Query.ID}'`);
  }
  return set(ctx, cmd.Query);
}

/** Deletes the queries bound to a session that is going away (Consul's sessionInvalidate). */
export function deleteQueriesOfSession(ctx: WriteContext, session: string): void {
  for (const id of [...(ctx.t.queriesBySession.get(session) ?? [])]) remove(ctx, id);
}

// ---- reads ----

export function queryGet(t: Tables, id: string): { index: number; value: PreparedQuery | null } {
  return { index: t.index(QUERIES_TABLE), value: t.preparedQueries.get(id) ?? null };
}

export function queryList(t: Tables): { index: number; value: PreparedQuery[] } {
  return { index: t.index(QUERIES_TABLE), value: [...t.preparedQueries.values()].sort((a, b) => cmp(a.ID, b.ID)) };
}

/** Why a resolution failed in a way Consul reports as an error (not "not found"). */
export class QueryResolveError extends Error {
  override readonly name = "QueryResolveError";
}

/**
 * Consul's PreparedQueryResolve: the query for an ID or name, a template
 * rendered for the name; null when nothing matches.
 */
export function queryResolve(t: Tables, idOrName: string, source: TemplateSource): { index: number; value: PreparedQuery | null } {
  const index = t.index(QUERIES_TABLE);
  if (idOrName === "") throw new QueryResolveError(MISSING_QUERY_ID);
  if (isUuid(idOrName)) {
    const q = t.preparedQueries.get(idOrName.toLowerCase()) ?? t.preparedQueries.get(idOrName);
    if (q) {
      if (isTemplate(q)) throw new QueryResolveError("prepared query templates can only be resolved up by name, not by ID");
      return { index, value: q };
    }
  }
  const prep = (q: PreparedQuery): PreparedQuery => {
    if (!isTemplate(q)) return q;
    try {
      return renderTemplate(compiledOf(q), idOrName, source);
    } catch (err) {
      if (err instanceof TemplateError) throw new QueryResolveError(err.message);
      throw err;
    }
  };
  const exact = byName(t, idOrName);
  if (exact) return { index, value: prep(exact) };
  const lower = idOrName.toLowerCase();
  let best: string | null = null;
  for (const prefix of t.queryTemplates.keys()) {
    if (lower.startsWith(prefix) && (best === null || prefix.length > best.length)) best = prefix;
  }
  if (best === null) return { index, value: null };
  return { index, value: prep(t.preparedQueries.get(t.queryTemplates.get(best)!)!) };
}
