/**
 * Prepared-query templates (Consul's agent/consul/prepared_query/template.go):
 * every string inside `Service` is a HIL template rendered with the name
 * being looked up — `${name.full}`, `${name.prefix}`, `${name.suffix}`,
 * `${match(N)}` (groups of `Template.Regexp`, "" when out of range or no
 * match) and `${agent.segment}`.
 */
import { evalHil, HilEvalError, type HilScope, HilSyntaxError, type HilTemplate, parseHil } from "./hil.ts";
import { compileRe2, RegexSyntaxError } from "../filter/re2.ts";
import { type PreparedQuery, QueryTemplateType, type ServiceQuery } from "../structs/prepared_query.ts";

export class TemplateError extends Error {
  override readonly name = "TemplateError";
}

export function isTemplate(q: PreparedQuery): boolean {
  return q.Template.Type !== "";
}

/** Who is asking (Consul's QuerySource as far as templates see it). */
export interface TemplateSource {
  readonly segment?: string;
}

export interface CompiledTemplate {
  readonly query: PreparedQuery;
  readonly trees: ReadonlyMap<string, HilTemplate>;
  readonly re: RegExp | null;
}

/** Calls `fn` with the path (Consul's walk.go spelling) of every string in `v`; returns the copy `fn` builds. */
function walk(v: unknown, path: string, fn: (path: string, s: string) => string): unknown {
  if (typeof v === "string") return fn(path, v);
  if (Array.isArray(v)) return v.map((x, i) => walk(x, `${path}[${i}]`, fn));
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    const map = path.endsWith(".NodeMeta") || path.endsWith(".ServiceMeta");
    for (const [k, x] of Object.entries(v)) out[k] = walk(x, map ? `${path}[${k}]` : `${path}.${k}`, fn);
    return out;
  }
  return v;
}

/** Checks a template and parses its strings; throws TemplateError with Consul's texts. */
export function compileTemplate(query: PreparedQuery): CompiledTemplate {
  if (query.Template.Type !== QueryTemplateType.NamePrefixMatch) throw new TemplateError(`Bad Template.Type '${query.Template.Type}'`);
  const trees = new Map<string, HilTemplate>();
  walk(query.Service, "", (path, s) => {
    try {
      trees.set(path, parseHil(s));
    } catch (err) {
      if (err instanceof HilSyntaxError) throw new TemplateError(`Bad format '${s}' in Service${path}: ${err.message}`);
      throw err;
    }
    return s;
  });
  let re: RegExp | null = null;
  if (query.Template.Regexp !== "") {
    try {
      re = compileRe2(query.Template.Regexp);
    } catch (err) {
      if (err instanceof RegexSyntaxError) throw new TemplateError(`Bad Regexp: ${err.message}`);
      throw err;
    }
  }
  const ct: CompiledTemplate = { query: structuredClone(query), trees, re };
  // A test render with the bare prefix catches evaluation errors (unknown variables) now.
  renderTemplate(ct, query.Name, {});
  return ct;
}

/** The query for `name`: a detached copy with every `Service` string rendered. */
export function renderTemplate(ct: CompiledTemplate, name: string, source: TemplateSource): PreparedQuery {
  const matches = ct.re ? ct.re.exec(name) : null;
  const prefix = ct.query.Name;
  const scope: HilScope = {
    vars: {
      "name.full": name,
      "name.prefix": prefix,
      "name.suffix": name.startsWith(prefix) ? name.slice(prefix.length) : name,
      "agent.segment": source.segment ?? "",
    },
    fns: {
      match: ([i]) => (typeof i === "number" && matches !== null && i >= 0 && i < matches.length ? (matches[i] ?? "") : ""),
    },
  };
  const service = walk(ct.query.Service, "", (path, s) => {
    const tree = ct.trees.get(path);
    if (!tree) return s;
    try {
      return evalHil(tree, scope);
    } catch (err) {
      if (err instanceof HilEvalError) throw new TemplateError(`Bad evaluation for '${s}' in Service${path}: ${err.message}`);
      throw err;
    }
  }) as ServiceQuery;
  if (ct.query.Template.RemoveEmptyTags && service.Tags !== null) service.Tags = service.Tags.filter((t) => t !== "");
  return { ...structuredClone(ct.query), Service: service };
}

const compiled = new WeakMap<PreparedQuery, CompiledTemplate>();

/** The compiled form of a stored template row (rows never change in place, so it is kept per row). */
export function compiledOf(query: PreparedQuery): CompiledTemplate {
  let ct = compiled.get(query);
  if (!ct) {
    ct = compileTemplate(query);
    compiled.set(query, ct);
  }
  return ct;
}
