/** What stage of compiling a filter rejected it. */
export const FilterErrorKind = {
  /** The expression does not follow the grammar. */
  Syntax: "syntax",
  /** A selector names a field the filtered type does not have. */
  Selector: "selector",
  /** The operator cannot be used on the selected field. */
  Operator: "operator",
  /** The value cannot be converted to the selected field's type. */
  Value: "value",
  /** The right side of `matches` is not a usable regular expression. */
  Regex: "regex",
} as const;
export type FilterErrorKind = (typeof FilterErrorKind)[keyof typeof FilterErrorKind];

/**
 * A filter expression that cannot be compiled. `message` has the shape Consul
 * answers with (`Failed to create boolean expression evaluator: ...`);
 * `reason` is the part after that prefix.
 */
export class FilterError extends Error {
  override readonly name = "FilterError";
  readonly kind: FilterErrorKind;
  readonly expression: string;
  readonly reason: string;

  constructor(
    kind: FilterErrorKind,
    expression: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`Failed to create boolean expression evaluator: ${reason}`, options);
    this.kind = kind;
    this.expression = expression;
    this.reason = reason;
  }
}
