/**
 * Match operators, named as go-bexpr prints them in its error messages
 * (`Invalid match operator "Is Empty" for selector ...`).
 * `contains` parses to In and `not contains` to NotIn, as in go-bexpr.
 */
export const MatchOp = {
  Equal: "Equal",
  NotEqual: "Not Equal",
  In: "In",
  NotIn: "Not In",
  IsEmpty: "Is Empty",
  IsNotEmpty: "Is Not Empty",
  Matches: "Matches",
  NotMatches: "Not Matches",
} as const;
export type MatchOp = (typeof MatchOp)[keyof typeof MatchOp];

export type Expr =
  | { readonly type: "and" | "or"; readonly left: Expr; readonly right: Expr }
  | { readonly type: "not"; readonly operand: Expr }
  | MatchExpr;

export interface MatchExpr {
  readonly type: "match";
  /** Path segments: `Meta["a.b"].x` is `["Meta", "a.b", "x"]`. */
  readonly selector: readonly string[];
  readonly op: MatchOp;
  /** The literal as written after unquoting; absent for the emptiness checks. */
  readonly raw?: string;
}
