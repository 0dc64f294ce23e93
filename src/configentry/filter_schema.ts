/** The `?filter` field schema of a config entry kind, derived from its struct schema. */
import type { Schema } from "./schema.ts";
import type { FieldSchema } from "../filter/mod.ts";

const cache = new WeakMap<Schema, FieldSchema>();

/** bexpr sees what the struct holds: nested structs, lists and maps; opaque values as string maps. */
export function filterSchemaOf(s: Schema): FieldSchema {
  const hit = cache.get(s);
  if (hit) return hit;
  let out: FieldSchema;
  switch (s.k) {
    case "string":
    case "time":
      out = { kind: "string" };
      break;
    case "int":
    case "uint":
    case "float":
    case "duration":
      out = { kind: "number" };
      break;
    case "bool":
      out = { kind: "bool" };
      break;
    case "any":
      out = { kind: "map", elem: { kind: "string" } };
      break;
    case "ptr":
      out = filterSchemaOf(s.elem);
      break;
    case "list":
      out = { kind: "list", elem: filterSchemaOf(s.elem) };
      break;
    case "map":
      out = { kind: "map", elem: filterSchemaOf(s.elem) };
      break;
    case "struct": {
      const fields: Record<string, FieldSchema> = {};
      for (const f of s.fields) fields[f.name] = filterSchemaOf(f.s);
      out = { kind: "struct", fields };
      break;
    }
  }
  cache.set(s, out);
  return out;
}
