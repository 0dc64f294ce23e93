/**
 * compileFilter: parse, check against the schema (as go-bexpr's validation
 * pass does, failing on the first problem from left to right), then build a
 * predicate.
 */
import { type Expr, type MatchExpr, MatchOp } from "./ast.ts";
import { FilterError, FilterErrorKind } from "./errors.ts";
import { type Coerced, matchPredicate, type Predicate } from "./evaluate.ts";
import { coercionFor, operatorsFor, subField } from "./fields.ts";
import { parseExpression } from "./grammar.ts";
import { goParseBool, goParseInt, goQuote } from "./gostrconv.ts";
import { compileRe2, RegexSyntaxError } from "./re2.ts";
import type { FieldSchema } from "./schema.ts";

function coerce(
  expression: string,
  match: MatchExpr,
  raw: string,
  target: FieldSchema,
  selectorText: string,
): Coerced {
  const kind = coercionFor(target);
  const failed = (reason: string): never => {
    throw new FilterError(
      FilterErrorKind.Value,
      expression,
      `Failed to coerce value ${goQuote(raw)} for selector ${goQuote(selectorText)}: ${reason}`,
    );
  };
  let value: Coerced = raw;
  if (kind === "number") {
    const r = goParseInt(raw);
    value = "error" in r ? failed(r.error) : r.value;
  } else if (kind === "bool") {
    const r = goParseBool(raw);
    value = "error" in r ? failed(r.error) : r.value;
  }
  if (match.op === MatchOp.Matches || match.op === MatchOp.NotMatches) {
    try {
      return compileRe2(raw);
    } catch (cause) {
      if (!(cause instanceof RegexSyntaxError)) throw cause;
      throw new FilterError(
        FilterErrorKind.Regex,
        expression,
        `Failed to compile regular expression ${goQuote(raw)}: ${cause.message}`,
        { cause },
      );
    }
  }
  return value;
}

function compileMatch(expression: string, match: MatchExpr, schema: FieldSchema): Predicate {
  let target = schema;
  match.selector.forEach((name, idx) => {
    const next = subField(target, name);
    if (next === undefined) {
      const prefix = match.selector.slice(0, idx + 1).join(".");
      throw new FilterError(FilterErrorKind.Selector, expression, `Selector ${goQuote(prefix)} is not valid`);
    }
    target = next;
  });
  const selectorText = match.selector.join(".");
  if (!operatorsFor(target).includes(match.op)) {
    throw new FilterError(
      FilterErrorKind.Operator,
      expression,
      `Invalid match operator ${goQuote(match.op)} for selector ${goQuote(selectorText)}`,
    );
  }
  const want = match.raw === undefined ? undefined : coerce(expression, match, match.raw, target, selectorText);
  return matchPredicate(match.selector, match.op, want, schema);
}

function build(expression: string, node: Expr, schema: FieldSchema): Predicate {
  switch (node.type) {
    case "match":
      return compileMatch(expression, node, schema);
    case "not": {
      const inner = build(expression, node.operand, schema);
      return (v) => !inner(v);
    }
    case "and": {
      const left = build(expression, node.left, schema);
      const right = build(expression, node.right, schema);
      return (v) => left(v) && right(v);
    }
    case "or": {
      const left = build(expression, node.left, schema);
      const right = build(expression, node.right, schema);
      return (v) => left(v) || right(v);
    }
  }
}

/**
 * Compiles a Consul `?filter=` expression (go-bexpr syntax) into a predicate
 * over values shaped like `schema`, e.g. one row of `/v1/health/service/:s`.
 * An empty expression matches everything, as in Consul.
 *
 * @throws {FilterError} when the expression does not parse, names a field the
 * schema lacks, uses an operator the field does not support, or carries a
 * value that cannot be converted to the field's type.
 * @throws {TypeError} when `schema` is not a struct or map (a caller bug).
 *
 * @example
 * ```ts
 * const healthy = compileFilter('Service.Meta.version == v1 and Checks.Status != critical', checkServiceNodeSchema);
 * rows.filter(healthy);
 * ```
 */
export function compileFilter(expression: string, schema: FieldSchema): (value: unknown) => boolean {
  if (schema.kind !== "struct" && schema.kind !== "map") {
    throw new TypeError(`Filter schema must be a struct or a map, not a ${schema.kind}`);
  }
  if (expression === "") return () => true;
  let parsed: ReturnType<typeof parseExpression>;
  try {
    parsed = parseExpression(expression);
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new FilterError(FilterErrorKind.Syntax, expression, "expression nests too deeply", { cause });
  }
  if (!parsed.ok) throw new FilterError(FilterErrorKind.Syntax, expression, parsed.message);
  return build(expression, parsed.value, schema);
}
