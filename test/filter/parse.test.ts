import { expect, test } from "bun:test";
import { parseExpression } from "../../src/filter/grammar.ts";
import { compileFilter, FilterError, FilterErrorKind, type FieldSchema } from "../../src/filter/mod.ts";

function parsed(expression: string): unknown {
  const r = parseExpression(expression);
  if (!r.ok) throw new Error(`unexpected parse failure: ${r.message}`);
  return r.value;
}

function parseError(expression: string): string {
  const r = parseExpression(expression);
  if (r.ok) throw new Error(`expected ${JSON.stringify(expression)} not to parse`);
  return r.message;
}

test("match operators parse to go-bexpr's operators, contains being In", () => {
  expect(parsed("foo == 3")).toEqual({ type: "match", selector: ["foo"], op: "Equal", raw: "3" });
  expect(parsed("foo != xyz")).toEqual({ type: "match", selector: ["foo"], op: "Not Equal", raw: "xyz" });
  expect(parsed("list is empty")).toEqual({ type: "match", selector: ["list"], op: "Is Empty" });
  expect(parsed("list is not empty")).toEqual({ type: "match", selector: ["list"], op: "Is Not Empty" });
  expect(parsed("foo in bar")).toEqual({ type: "match", selector: ["bar"], op: "In", raw: "foo" });
  expect(parsed("foo not in bar")).toEqual({ type: "match", selector: ["bar"], op: "Not In", raw: "foo" });
  expect(parsed("bar contains foo")).toEqual({ type: "match", selector: ["bar"], op: "In", raw: "foo" });
  expect(parsed("bar not contains foo")).toEqual({ type: "match", selector: ["bar"], op: "Not In", raw: "foo" });
  expect(parsed("foo matches `^a.*`")).toEqual({ type: "match", selector: ["foo"], op: "Matches", raw: "^a.*" });
  expect(parsed("foo not matches bar")).toEqual({ type: "match", selector: ["foo"], op: "Not Matches", raw: "bar" });
});

test("not binds tighter than and, and tighter than or", () => {
  expect(parsed("x in foo and not str == something or list is empty")).toEqual({
    type: "or",
    left: {
      type: "and",
      left: { type: "match", selector: ["foo"], op: "In", raw: "x" },
      right: { type: "not", operand: { type: "match", selector: ["str"], op: "Equal", raw: "something" } },
    },
    right: { type: "match", selector: ["list"], op: "Is Empty" },
  });
  expect(parsed("x in foo and not (str == something or list is empty)")).toEqual({
    type: "and",
    left: { type: "match", selector: ["foo"], op: "In", raw: "x" },
    right: {
      type: "not",
      operand: {
        type: "or",
        left: { type: "match", selector: ["str"], op: "Equal", raw: "something" },
        right: { type: "match", selector: ["list"], op: "Is Empty" },
      },
    },
  });
  expect(parsed("not not foo == 3")).toEqual({ type: "match", selector: ["foo"], op: "Equal", raw: "3" });
});

test("whitespace of any kind separates tokens, and outer parentheses are allowed", () => {
  expect(parsed("\t\r\n ( \t\r\n foo \t\r\n == \t\r\n x \t\r\n ) \t\r\n")).toEqual({
    type: "match",
    selector: ["foo"],
    op: "Equal",
    raw: "x",
  });
  expect(parsed("foo==x")).toEqual({ type: "match", selector: ["foo"], op: "Equal", raw: "x" });
});

test("selectors take dotted names and quoted index expressions", () => {
  const want = { type: "match", selector: ["foo", "bar", "meta", "tags", "ENV"], op: "In", raw: "environment" };
  expect(parsed('`environment` in foo.bar["meta"].tags[\t`ENV` ]')).toEqual(want);
  expect(parsed('environment in foo["bar"]["meta"]["tags"]["ENV"]')).toEqual(want);
  expect(parsed("environment in foo.bar.meta.tags.ENV")).toEqual(want);
  expect(parsed('environment in foo["abc-def ghi åß∂ƒ"]')).toEqual({
    type: "match",
    selector: ["foo", "abc-def ghi åß∂ƒ"],
    op: "In",
    raw: "environment",
  });
});

test("values are bare words, numbers, double-quoted or raw strings", () => {
  const raw = (expression: string) => (parsed(expression) as { raw: string }).raw;
  expect(raw("foo == bar.baz")).toBe("bar.baz");
  expect(raw('foo == bar["x y"]')).toBe("bar.x y");
  expect(raw("foo == -0.2")).toBe("-0.2");
  expect(raw("foo == 11.11")).toBe("11.11");
  expect(raw('foo == "a\\tb\\u00e9\\x41\\101\\\\"')).toBe("a\tbéAA\\");
  // \x escapes are bytes, so two of them can spell one UTF-8 character.
  expect(raw('foo == "\\xc3\\xa9"')).toBe("é");
  expect(raw("foo == `a\\d\r\n`")).toBe("a\\d\n");
  expect(raw('foo == ""')).toBe("");
});

test("malformed expressions fail with go-bexpr's messages", () => {
  expect(parseError('foo == "12x')).toBe('1:12 (11): rule "string": Unterminated string literal');
  expect(parseError("foo == `12x")).toBe('1:12 (11): rule "string": Unterminated string literal');
  expect(parseError("foo == 3x")).toBe('1:9 (8): rule "number": Invalid number literal');
  expect(parseError("foo[3] == abc")).toBe('1:5 (4): rule "index": Invalid index');
  expect(parseError('x in foo["abc"')).toBe('1:15 (14): rule "index": Unclosed index expression');
  expect(parseError('foo["abc" == 3')).toBe('1:11 (10): rule "index": Unclosed index expression');
  expect(parseError("x in 32")).toBe('1:6 (5): rule "match": Invalid selector');
  expect(parseError("32 == 32")).toBe('1:4 (3): no match found, expected: "in", "not" or [ \\t\\r\\n]');
  expect(parseError("x in foo abc")).toBe('1:10 (9): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF');
  expect(parseError("x in foo and ")).toBe(
    '1:14 (13): no match found, expected: "(", "-", "0", "\\"", "`", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
  );
  expect(parseError("x in foo or not ")).toBe(
    '1:17 (16): no match found, expected: "!=", "(", "-", "0", "==", "\\"", "`", "contains", "in", "is", "matches", "not", [ \\t\\r\\n], [1-9] or [a-zA-Z]',
  );
  expect(parseError("(foo == 4")).toBe('1:10 (9): rule "grouping": Unmatched parentheses');
  // A quote cannot be escaped inside "...": the literal ends at it, as in go-bexpr.
  expect(parseError('foo == "a\\"b"')).toBe('1:8 (7): rule "string": invalid syntax');
  expect(parseError('foo == "\\q"')).toBe('1:8 (7): rule "string": invalid syntax');
});

test("positions count lines, runes and bytes like pigeon", () => {
  expect(parseError('foo ==\n"é" bar')).toBe('2:5 (12): no match found, expected: "and", "or", [ \\t\\r\\n] or EOF');
  expect(parseError("foo ==\n  é")).toStartWith("2:3 (9): no match found");
});

test("there are no ordering comparisons, as in go-bexpr", () => {
  const expected = '1:6 (5): no match found, expected: "!=", "==", "contains", "in", "is", "matches", "not" or [ \\t\\r\\n]';
  expect(parseError("Port > 80")).toBe(expected);
  expect(parseError("Port >= 80")).toBe(expected);
  expect(parseError("Port < 80")).toBe(expected);
});

test("deep nesting parses in linear time", () => {
  const depth = 200;
  const expression = `${"(".repeat(depth)}foo == 1${")".repeat(depth)}`;
  const started = performance.now();
  expect(parsed(expression)).toEqual({ type: "match", selector: ["foo"], op: "Equal", raw: "1" });
  expect(performance.now() - started).toBeLessThan(2000);
});

test("absurd nesting is refused as a FilterError rather than crashing", () => {
  const schema: FieldSchema = { kind: "struct", fields: { foo: { kind: "number" } } };
  const depth = 100_000;
  const expression = `${"(".repeat(depth)}foo == 1${")".repeat(depth)}`;
  let caught: unknown;
  try {
    compileFilter(expression, schema);
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(FilterError);
  expect((caught as FilterError).kind).toBe(FilterErrorKind.Syntax);
  expect((caught as FilterError).reason).toBe("expression nests too deeply");
});
