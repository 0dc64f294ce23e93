/**
 * Runs one match expression against a JSON value the way go-bexpr walks a Go
 * value: lists are searched for any element that matches, a missing map key
 * decides the result by operator alone, and absent or null fields read as
 * their zero value ("", 0, false, empty list or map, zero struct).
 */
import { MatchOp } from "./ast.ts";
import type { FieldSchema } from "./schema.ts";

export type Predicate = (value: unknown) => boolean;

/** A literal after conversion to the selected field's type. */
export type Coerced = string | bigint | boolean | RegExp | undefined;

function asString(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function asInteger(v: unknown): bigint | undefined {
  if (v === undefined || v === null) return 0n;
  if (typeof v === "bigint") return v;
  if (typeof v === "number" && Number.isInteger(v)) return BigInt(v);
  return undefined;
}

function asList(v: unknown): readonly unknown[] {
  return Array.isArray(v) ? v : [];
}

function asRecord(v: unknown): Readonly<Record<string, unknown>> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function lookupKey(record: Readonly<Record<string, unknown>>, key: string): { found: boolean; value: unknown } {
  if (!Object.hasOwn(record, key) || record[key] === undefined) return { found: false, value: undefined };
  return { found: true, value: record[key] };
}

function equalsPrimitive(value: unknown, schema: FieldSchema, want: Coerced): boolean {
  switch (schema.kind) {
    case "string":
      return asString(value) === want;
    case "number":
      return asInteger(value) === want;
    case "bool":
      return (value === true) === want;
    default:
      return false;
  }
}

/** go-bexpr answers for a key that is not in the map without looking further. */
function missingKeyResult(op: MatchOp): boolean {
  return !(op === MatchOp.Equal || op === MatchOp.IsNotEmpty || op === MatchOp.In);
}

function applyOperator(op: MatchOp, value: unknown, schema: FieldSchema, want: Coerced): boolean {
  switch (op) {
    case MatchOp.Equal:
      return equalsPrimitive(value, schema, want);
    case MatchOp.NotEqual:
      return !equalsPrimitive(value, schema, want);
    case MatchOp.In:
    case MatchOp.NotIn: {
      let found: boolean;
      if (schema.kind === "map") found = lookupKey(asRecord(value), String(want)).found;
      else if (schema.kind === "list") found = asList(value).some((item) => equalsPrimitive(item, schema.elem, want));
      else found = asString(value).includes(String(want));
      return op === MatchOp.In ? found : !found;
    }
    case MatchOp.IsEmpty:
    case MatchOp.IsNotEmpty: {
      const empty =
        schema.kind === "map" ? Object.keys(asRecord(value)).length === 0 : asList(value).length === 0;
      return op === MatchOp.IsEmpty ? empty : !empty;
    }
    case MatchOp.Matches:
    case MatchOp.NotMatches: {
      const matched = want instanceof RegExp && want.test(asString(value));
      return op === MatchOp.Matches ? matched : !matched;
    }
  }
}

/** A predicate for `selector op want`, where `schema` is the filtered value's shape. */
export function matchPredicate(
  selector: readonly string[],
  op: MatchOp,
  want: Coerced,
  schema: FieldSchema,
): Predicate {
  const walk = (value: unknown, at: FieldSchema, depth: number): boolean => {
    if (depth >= selector.length) return applyOperator(op, value, at, want);
    const name = selector[depth] ?? "";
    switch (at.kind) {
      case "struct": {
        const field = at.fields[name];
        return field !== undefined && walk(lookupKey(asRecord(value), name).value, field, depth + 1);
      }
      case "list":
        return asList(value).some((item) => walk(item, at.elem, depth));
      case "map": {
        const entry = lookupKey(asRecord(value), name);
        return entry.found ? walk(entry.value, at.elem, depth + 1) : missingKeyResult(op);
      }
      default:
        return false;
    }
  };
  return (value) => walk(value, schema, 0);
}
