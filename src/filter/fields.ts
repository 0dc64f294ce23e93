/**
 * What go-bexpr would derive from a Go type by reflection, derived here from a
 * FieldSchema: which names can follow a field in a selector, which operators
 * the field accepts, and what type a literal is converted to.
 */
import { MatchOp } from "./ast.ts";
import { type FieldSchema, isPrimitive } from "./schema.ts";

const stringOps = [
  MatchOp.Equal,
  MatchOp.NotEqual,
  MatchOp.In,
  MatchOp.NotIn,
  MatchOp.Matches,
  MatchOp.NotMatches,
] as const;
const scalarOps = [MatchOp.Equal, MatchOp.NotEqual] as const;
const primitiveListOps = [MatchOp.In, MatchOp.NotIn, MatchOp.IsEmpty, MatchOp.IsNotEmpty] as const;
const listOps = [MatchOp.IsEmpty, MatchOp.IsNotEmpty] as const;
const mapOps = [MatchOp.IsEmpty, MatchOp.IsNotEmpty, MatchOp.In, MatchOp.NotIn] as const;

/** Operators go-bexpr allows on a field of this shape; structs allow none. */
export function operatorsFor(schema: FieldSchema): readonly MatchOp[] {
  switch (schema.kind) {
    case "string":
      return stringOps;
    case "number":
    case "bool":
      return scalarOps;
    case "list":
      return isPrimitive(schema.elem) ? primitiveListOps : listOps;
    case "map":
      return mapOps;
    case "struct":
      return [];
  }
}

/** The type a literal compared with this field is converted to, if any. */
export function coercionFor(schema: FieldSchema): "string" | "number" | "bool" | undefined {
  switch (schema.kind) {
    case "string":
    case "number":
    case "bool":
      return schema.kind;
    case "list":
      return isPrimitive(schema.elem) ? schema.elem.kind : undefined;
    case "map":
      // `"key" in Meta` compares against the map's (string) keys.
      return "string";
    case "struct":
      return undefined;
  }
}

/**
 * The field `name` selects below a field of this shape. Maps accept any key;
 * lists of structs (or maps) expose their element's fields directly, which is
 * what gives `Checks.Status` its "any element" meaning.
 */
export function subField(schema: FieldSchema, name: string): FieldSchema | undefined {
  switch (schema.kind) {
    case "struct":
      return Object.hasOwn(schema.fields, name) ? schema.fields[name] : undefined;
    case "map":
      return schema.elem;
    case "list":
      return isPrimitive(schema.elem) ? undefined : subField(schema.elem, name);
    default:
      return undefined;
  }
}
