/**
 * go-bexpr's expression grammar (the version Consul builds with, v0.1.2),
 * rule for rule, so that what parses, what the tree looks like and what the
 * error says all match. Rule labels in quotes are the grammar's display names.
 */
import { type Expr, type MatchExpr, MatchOp } from "./ast.ts";
import { goUnquote } from "./gostrconv.ts";
import {
  and,
  any,
  choice,
  cls,
  failWith,
  lit,
  map,
  mapChecked,
  not,
  opt,
  type Parser,
  parse,
  type ParseResult,
  plus,
  rule,
  seq,
  star,
  text,
} from "./peg.ts";

const _ = rule(`"whitespace"`, () => plus(cls("[ \\t\\r\\n]", /^[ \t\r\n]$/)));
const EOF = rule("EOF", () => not(any));

const Input: Parser<Expr> = rule("Input", () =>
  choice(
    map(seq(opt(_), lit("("), opt(_), OrExpression, opt(_), lit(")"), opt(_), EOF), (v) => v[3]),
    map(seq(opt(_), OrExpression, opt(_), EOF), (v) => v[1]),
  ),
);

const OrExpression: Parser<Expr> = rule("OrExpression", () =>
  choice<Expr>(
    map(seq(AndExpression, _, lit("or"), _, OrExpression), (v) => ({
      type: "or",
      left: v[0],
      right: v[4],
    })),
    AndExpression,
  ),
);

const AndExpression: Parser<Expr> = rule("AndExpression", () =>
  choice<Expr>(
    map(seq(NotExpression, _, lit("and"), _, AndExpression), (v) => ({
      type: "and",
      left: v[0],
      right: v[4],
    })),
    NotExpression,
  ),
);

const NotExpression: Parser<Expr> = rule("NotExpression", () =>
  choice<Expr>(
    map(seq(lit("not"), _, NotExpression), (v) =>
      // `not not x` is x, as go-bexpr folds it.
      v[2].type === "not" ? v[2].operand : { type: "not", operand: v[2] },
    ),
    ParenthesizedExpression,
  ),
);

const ParenthesizedExpression: Parser<Expr> = rule(`"grouping"`, () =>
  choice<Expr>(
    map(seq(lit("("), opt(_), OrExpression, opt(_), lit(")")), (v) => v[2]),
    MatchExpression,
    seq(lit("("), opt(_), OrExpression, opt(_), not(lit(")")), failWith("Unmatched parentheses")) as Parser<never>,
  ),
);

const MatchExpression: Parser<MatchExpr> = rule(`"match"`, () =>
  choice(MatchSelectorOpValue, MatchSelectorOp, MatchValueOpSelector),
);

const MatchSelectorOpValue: Parser<MatchExpr> = rule(`"match"`, () =>
  map(
    seq(
      Selector,
      choice(MatchEqual, MatchNotEqual, MatchContains, MatchNotContains, MatchMatches, MatchNotMatches),
      Value,
    ),
    (v): MatchExpr => ({ type: "match", selector: v[0], op: v[1], raw: v[2] }),
  ),
);

const MatchSelectorOp: Parser<MatchExpr> = rule(`"match"`, () =>
  map(
    seq(Selector, choice(MatchIsEmpty, MatchIsNotEmpty)),
    (v): MatchExpr => ({ type: "match", selector: v[0], op: v[1] }),
  ),
);

const MatchValueOpSelector: Parser<MatchExpr> = rule(`"match"`, () =>
  choice<MatchExpr>(
    map(
      seq(Value, choice(MatchIn, MatchNotIn), Selector),
      (v): MatchExpr => ({ type: "match", selector: v[2], op: v[1], raw: v[0] }),
    ),
    seq(Value, choice(MatchIn, MatchNotIn), not(Selector), failWith("Invalid selector")) as Parser<never>,
  ),
);

function operator(name: string, parts: Parser<unknown>, op: MatchOp): Parser<MatchOp> {
  return rule(name, () => map(parts, () => op));
}

const MatchEqual = operator("MatchEqual", seq(opt(_), lit("=="), opt(_)), MatchOp.Equal);
const MatchNotEqual = operator("MatchNotEqual", seq(opt(_), lit("!="), opt(_)), MatchOp.NotEqual);
const MatchIsEmpty = operator("MatchIsEmpty", seq(_, lit("is"), _, lit("empty")), MatchOp.IsEmpty);
const MatchIsNotEmpty = operator(
  "MatchIsNotEmpty",
  seq(_, lit("is"), _, lit("not"), _, lit("empty")),
  MatchOp.IsNotEmpty,
);
const MatchIn = operator("MatchIn", seq(_, lit("in"), _), MatchOp.In);
const MatchNotIn = operator("MatchNotIn", seq(_, lit("not"), _, lit("in"), _), MatchOp.NotIn);
const MatchContains = operator("MatchContains", seq(_, lit("contains"), _), MatchOp.In);
const MatchNotContains = operator(
  "MatchNotContains",
  seq(_, lit("not"), _, lit("contains"), _),
  MatchOp.NotIn,
);
const MatchMatches = operator("MatchMatches", seq(_, lit("matches"), _), MatchOp.Matches);
const MatchNotMatches = operator(
  "MatchNotMatches",
  seq(_, lit("not"), _, lit("matches"), _),
  MatchOp.NotMatches,
);

const Selector: Parser<string[]> = rule(`"selector"`, () =>
  map(seq(Identifier, star(SelectorOrIndex)), (v) => [v[0], ...v[1]]),
);

const Identifier: Parser<string> = rule("Identifier", () =>
  text(seq(cls("[a-zA-Z]", /^[a-zA-Z]$/), star(cls("[a-zA-Z0-9_]", /^[a-zA-Z0-9_]$/)))),
);

const SelectorOrIndex: Parser<string> = rule("SelectorOrIndex", () =>
  choice(
    map(seq(lit("."), Identifier), (v) => v[1]),
    IndexExpression,
  ),
);

const IndexExpression: Parser<string> = rule(`"index"`, () =>
  choice<string>(
    map(seq(lit("["), opt(_), StringLiteral, opt(_), lit("]")), (v) => v[2]),
    seq(lit("["), opt(_), not(StringLiteral), failWith("Invalid index")) as Parser<never>,
    seq(lit("["), opt(_), StringLiteral, opt(_), not(lit("]")), failWith("Unclosed index expression")) as Parser<never>,
  ),
);

const Value: Parser<string> = rule(`"value"`, () =>
  choice(
    map(Selector, (path) => path.join(".")),
    NumberLiteral,
    StringLiteral,
  ),
);

const NumberLiteral: Parser<string> = rule(`"number"`, () =>
  choice<string>(
    text(seq(opt(lit("-")), IntegerOrFloat, and(AfterNumbers))),
    seq(opt(lit("-")), IntegerOrFloat, not(AfterNumbers), failWith("Invalid number literal")) as Parser<never>,
  ),
);

const AfterNumbers = rule("AfterNumbers", () => and(choice<unknown>(_, EOF, lit(")"))));

const IntegerOrFloat = rule("IntegerOrFloat", () =>
  seq(
    choice<unknown>(lit("0"), seq(cls("[1-9]", /^[1-9]$/), star(cls("[0-9]", /^[0-9]$/)))),
    opt(seq(lit("."), plus(cls("[0-9]", /^[0-9]$/)))),
  ),
);

const RawStringChar = rule("RawStringChar", () => seq(not(lit("`")), any));
const DoubleStringChar = rule("DoubleStringChar", () => seq(not(lit('"')), any));

const StringLiteral: Parser<string> = rule(`"string"`, () =>
  choice<string>(
    mapChecked<string, string>(
      text(
        choice<unknown>(
          seq(lit("`"), star(RawStringChar), lit("`")),
          seq(lit('"'), star(DoubleStringChar), lit('"')),
        ),
      ),
      (quoted) => {
        const value = goUnquote(quoted);
        return value === undefined ? { error: "invalid syntax", fallback: "" } : { value };
      },
    ),
    seq(
      choice<unknown>(seq(lit("`"), star(RawStringChar)), seq(lit('"'), star(DoubleStringChar))),
      EOF,
      failWith("Unterminated string literal"),
    ) as Parser<never>,
  ),
);

/**
 * Parses a filter expression. On failure the message is go-bexpr's, e.g.
 * `1:10 (9): rule "grouping": Unmatched parentheses`.
 */
export function parseExpression(expression: string): ParseResult<Expr> {
  return parse(Input, expression);
}
