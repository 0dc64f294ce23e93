/**
 * Decodes a JSON value against a Schema the way Consul's config-entry
 * decoder (mapstructure with WeaklyTypedInput, HookTranslateKeys and
 * HookWeakDecodeFromSlice) does: field names match case-insensitively, alias
 * spellings are translated, scalars convert weakly ("8080" -> 8080), a
 * one-element list stands for a single object, and keys that match no field
 * are reported with their full path (`Sources[0].Foo`).
 */
import type { Field, Schema } from "./schema.ts";
import { DurationError, parseDuration } from "../structs/duration.ts";
import { isObject } from "../structs/json.ts";

export interface DecodeResult {
  readonly value: unknown;
  /** mapstructure's error list (already formatted, one per problem). */
  readonly errors: string[];
  /** Keys that matched no field, with their path. */
  readonly unused: string[];
}

/** The Go type encoding/json gives a JSON value, as mapstructure's messages name it. */
function goType(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "[]interface {}";
  if (isObject(v)) return "map[string]interface {}";
  return "<nil>";
}

function goKind(v: unknown): string {
  if (typeof v === "string") return "string";
  if (typeof v === "number") return "float64";
  if (typeof v === "boolean") return "bool";
  if (Array.isArray(v)) return "slice";
  if (isObject(v)) return "map";
  return "invalid";
}

function goValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(" ")}]`;
  if (isObject(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue(v[k])}`).join(" ")}]`;
  return String(v);
}

/** strconv.ParseInt with base 0: decimal, 0x hex, 0b binary, 0o or 0 octal; null when invalid. */
function parseGoInt(text: string): number | null {
  const sign = text.startsWith("-") ? -1 : 1;
  const body = text.replace(/^[+-]/, "");
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(body)) n = parseInt(body.slice(2), 16);
  else if (/^0[bB][01]+$/.test(body)) n = parseInt(body.slice(2), 2);
  else if (/^0[oO]?[0-7]+$/.test(body)) n = parseInt(body.replace(/^0[oO]?/, ""), 8);
  else if (/^(0|[1-9][0-9]*)$/.test(body)) n = parseInt(body, 10);
  else return null;
  return sign * n;
}

/** Go's strconv.FormatFloat(f, 'f', -1, 64) for the numbers JSON can carry. */
function formatNumber(n: number): string {
  return Number.isInteger(n) ? n.toFixed(0) : String(n);
}

class Decoder {
  readonly errors: string[] = [];
  readonly unused: string[] = [];

  decode(v: unknown, s: Schema, path: string): unknown {
    if (v === null || v === undefined) return undefined;
    // HookWeakDecodeFromSlice: one element stands for the value itself.
    if (Array.isArray(v) && s.k !== "list" && s.k !== "any" && s.k !== "ptr") {
      if (v.length === 0 && (s.k === "struct" || s.k === "map")) return undefined;
      if (v.length === 1) return this.decode(v[0], s, path);
    }
    switch (s.k) {
      case "string":
        return this.string(v, path);
      case "int":
      case "uint":
        return this.integer(v, path, s.k);
      case "float":
        return this.float(v, path);
      case "bool":
        return this.bool(v, path);
      case "duration":
        return this.duration(v, path);
      case "time":
        return this.string(v, path);
      case "any":
        return v;
      case "ptr":
        return this.decode(v, s.elem, path);
      case "list":
        return this.list(v, s.elem, path);
      case "map":
        return this.map(v, s.elem, path);
      case "struct":
        return this.struct(v, s.fields, path);
    }
  }

  private fail(msg: string): undefined {
    this.errors.push(msg);
    return undefined;
  }

  private string(v: unknown, path: string): string | undefined {
    if (typeof v === "string") return v;
    if (typeof v === "number") return formatNumber(v);
    if (typeof v === "boolean") return v ? "1" : "0";
    return this.fail(`'${path}' expected type 'string', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`);
  }

  private integer(v: unknown, path: string, kind: "int" | "uint"): number | undefined {
    let n: number;
    if (typeof v === "number") n = Math.trunc(v);
    else if (typeof v === "boolean") n = v ? 1 : 0;
    else if (typeof v === "string") {
      const parsed = parseGoInt(v === "" ? "0" : v);
      if (parsed === null) {
        const fn = kind === "int" ? "ParseInt" : "ParseUint";
        return this.fail(`cannot parse '${path}' as ${kind}: strconv.${fn}: parsing ${JSON.stringify(v)}: invalid syntax`);
      }
      n = parsed;
    } else {
      return this.fail(`'${path}' expected type '${kind}', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`);
    }
    if (kind === "uint" && n < 0) return this.fail(`cannot parse '${path}', ${n} overflows uint`);
    return n;
  }

  private float(v: unknown, path: string): number | undefined {
    if (typeof v === "number") return v;
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "string") {
      const n = v === "" ? 0 : Number(v);
      if (v.trim() !== v || Number.isNaN(n)) {
        return this.fail(`cannot parse '${path}' as float: strconv.ParseFloat: parsing ${JSON.stringify(v)}: invalid syntax`);
      }
      return n;
    }
    return this.fail(`'${path}' expected type 'float32', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`);
  }

  private bool(v: unknown, path: string): boolean | undefined {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0;
    if (typeof v === "string") {
      if (v === "") return false;
      if (["1", "t", "T", "TRUE", "true", "True"].includes(v)) return true;
      if (["0", "f", "F", "FALSE", "false", "False"].includes(v)) return false;
      return this.fail(`cannot parse '${path}' as bool: strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
    }
    return this.fail(`'${path}' expected type 'bool', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`);
  }

  /** Durations are kept in nanoseconds: a string is Go duration text, a number is nanoseconds. */
  private duration(v: unknown, path: string): number | undefined {
    if (typeof v === "number") return Math.trunc(v);
    if (typeof v === "string") {
      try {
        return Math.round(parseDuration(v) * 1e6);
      } catch (err) {
        if (err instanceof DurationError) return this.fail(`error decoding '${path}': ${err.message}`);
        throw err;
      }
    }
    return this.fail(`'${path}' expected type 'int64', got unconvertible type '${goType(v)}', value: '${goValue(v)}'`);
  }

  private list(v: unknown, elem: Schema, path: string): unknown[] | undefined {
    // Weak typing: a single value becomes a one-element list; an empty object an empty list.
    const items = Array.isArray(v) ? v : isObject(v) && Object.keys(v).length === 0 ? [] : [v];
    const out: unknown[] = [];
    items.forEach((item, i) => {
      const d = this.decode(item, elem, `${path}[${i}]`);
      // Go keeps a nil pointer (or map, slice) as null inside a list.
      out.push(d === undefined ? (zeroOf(elem) ?? null) : d);
    });
    return out;
  }

  private map(v: unknown, elem: Schema, path: string): Record<string, unknown> | undefined {
    if (!isObject(v)) return this.fail(`'${path}' expected a map, got '${goKind(v)}'`);
    const out: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(v)) {
      const d = this.decode(value, elem, `${path}[${key}]`);
      out[key] = d === undefined ? zeroOf(elem) : d;
    }
    return out;
  }

  private struct(v: unknown, fields: readonly Field[], path: string): Record<string, unknown> | undefined {
    if (!isObject(v)) return this.fail(`'${path}' expected a map, got '${goKind(v)}'`);
    // HookTranslateKeys: alias spellings become the canonical name unless it is present already.
    const source = new Map<string, unknown>(Object.entries(v));
    for (const f of fields) {
      for (const alias of f.aliases) {
        for (const key of [...source.keys()]) {
          if (key.toLowerCase() !== alias.toLowerCase() || key.toLowerCase() === f.name.toLowerCase()) continue;
          const value = source.get(key);
          source.delete(key);
          const hasCanon = [...source.keys()].some((k) => k.toLowerCase() === f.name.toLowerCase());
          if (!hasCanon) source.set(f.name.toLowerCase(), value);
        }
      }
    }
    const out: Record<string, unknown> = {};
    const used = new Set<string>();
    for (const f of fields) {
      let key: string | undefined = source.has(f.name) ? f.name : undefined;
      if (key === undefined) {
        for (const k of source.keys()) {
          if (!used.has(k) && k.toLowerCase() === f.name.toLowerCase()) {
            key = k;
            break;
          }
        }
      }
      if (key === undefined) continue;
      used.add(key);
      const d = this.decode(source.get(key), f.s, path === "" ? f.name : `${path}.${f.name}`);
      if (d !== undefined) out[f.name] = d;
    }
    for (const k of source.keys()) if (!used.has(k)) this.unused.push(path === "" ? k : `${path}.${k}`);
    return out;
  }
}

/** The zero value Go would hold for a schema (undefined stands for nil). */
export function zeroOf(s: Schema): unknown {
  switch (s.k) {
    case "string":
    case "time":
      return "";
    case "int":
    case "uint":
    case "float":
    case "duration":
      return 0;
    case "bool":
      return false;
    case "struct":
      return {};
    default:
      return undefined;
  }
}

export function decodeWithSchema(value: unknown, schema: Schema): DecodeResult {
  const d = new Decoder();
  const out = d.decode(value, schema, "");
  return { value: out, errors: d.errors, unused: [...d.unused].sort() };
}

/** mapstructure's Error text: `2 error(s) decoding:\n\n* a\n* b`. */
export function formatDecodeErrors(errors: readonly string[]): string {
  const points = errors.map((e) => `* ${e}`).sort();
  return `${errors.length} error(s) decoding:\n\n${points.join("\n")}`;
}

/** go-multierror's text: `1 error occurred:\n\t* a\n\n`. */
export function formatMultiError(errors: readonly string[]): string {
  const head = errors.length === 1 ? "1 error occurred:" : `${errors.length} errors occurred:`;
  return `${head}\n\t* ${errors.join("\n\t* ")}\n\n`;
}
