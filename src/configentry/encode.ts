/**
 * Writes a decoded value as Go's encoding/json would write the struct behind
 * the schema: every field in declaration order, zero values for what was not
 * set, `omitempty` fields left out when empty (a struct is never empty), nil
 * pointers, maps and slices as null.
 */
import type { Schema } from "./schema.ts";
import { formatGoDuration } from "../structs/duration.ts";
import { isObject } from "../structs/json.ts";

/** Go's notion of "empty" for omitempty. */
export function isEmpty(v: unknown, s: Schema): boolean {
  // A struct value is never empty to encoding/json, even its zero value.
  if (s.k === "struct") return false;
  if (v === undefined || v === null) return true;
  switch (s.k) {
    case "string":
    case "time":
      return v === "";
    case "int":
    case "uint":
    case "float":
    case "duration":
      return v === 0;
    case "bool":
      return v === false;
    case "list":
      return Array.isArray(v) && v.length === 0;
    case "map":
      return isObject(v) && Object.keys(v).length === 0;
    case "any":
      return (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0);
    case "ptr":
      return false;
  }
}

export function encodeWithSchema(v: unknown, s: Schema): unknown {
  switch (s.k) {
    case "string":
    case "time":
      return typeof v === "string" ? v : "";
    case "int":
    case "uint":
    case "float":
      return typeof v === "number" ? v : 0;
    case "duration": {
      const ns = typeof v === "number" ? v : 0;
      return s.text ? (ns === 0 ? "" : formatGoDuration(ns / 1e6)) : ns;
    }
    case "bool":
      return v === true;
    case "any":
      return v === undefined ? null : v;
    case "ptr":
      return v === undefined || v === null ? null : encodeWithSchema(v, s.elem);
    case "list":
      return Array.isArray(v) ? v.map((x) => encodeWithSchema(x, s.elem)) : null;
    case "map": {
      if (!isObject(v)) return null;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(v).sort()) out[key] = encodeWithSchema(v[key], s.elem);
      return out;
    }
    case "struct": {
      const src = isObject(v) ? v : {};
      const out: Record<string, unknown> = {};
      for (const f of s.fields) {
        const value = src[f.name];
        if (f.omit && isEmpty(value, f.s)) continue;
        // A duration written as text by a MarshalJSON is "" when zero, and dropped when omitempty.
        if (f.omit && f.s.k === "duration" && f.s.text && (value ?? 0) === 0) continue;
        out[f.name] = encodeWithSchema(value, f.s);
      }
      return out;
    }
  }
}
