import { expect, test } from "bun:test";
import { compileRe2, RegexSyntaxError } from "../../src/filter/re2.ts";

const accepts: [pattern: string, input: string, matched: boolean][] = [
  ["^v1", "v1.2", true],
  ["^v1$", "v1\n", false], // $ is end of text in RE2
  ["a.c", "a\nc", false],
  ["(?s)a.c", "a\nc", true],
  ["(?i)WEB", "my-web", true],
  ["(?im)^web$", "x\nWEB\ny", true],
  ["\\d+", "x12", true],
  ["\\s", "\u000b", false], // RE2's \s has no vertical tab
  ["\\s", "\u00a0", false], // nor non-ASCII spaces
  ["\\S", "\u00a0", true],
  ["\\w", "é", false],
  ["[[:alpha:]]+$", "abc", true],
  ["[^[:digit:]]", "123", false],
  ["[[:^digit:]]", "a", true],
  ["\\pL", "é", true],
  ["\\p{Greek}", "α", true],
  ["\\P{Greek}", "α", false],
  ["\\p{^Greek}", "a", true],
  ["[\\d-]", "-", true],
  ["\\Qa.b\\E", "axb", false],
  ["\\Qa.b\\E", "a.b", true],
  ["x{2,3}", "xx", true],
  ["x{2,}", "x", false],
  ["a\\z", "a", true],
  ["\\Aa", "ba", false],
  ["(?P<ver>v\\d)", "v2", true],
  ["(?P<1x>v)", "v", true],
  ["a{,2}", "a{,2}", true], // not a repetition in RE2, so literal
  ["]", "]", true],
  ["[]a]", "]", true],
  ["\\x41\\x{42}\\101", "ABA", true],
  ["\\_", "_", true],
  ["a*?b", "aab", true],
  ["a/b", "a/b", true],
];

test.each(accepts)("%p against %p", (pattern, input, matched) => {
  expect(compileRe2(pattern).test(input)).toBe(matched);
});

const refusals: [pattern: string, message: string][] = [
  ["(?=x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"],
  ["(?<!x)", "error parsing regexp: invalid or unsupported Perl syntax: `(?<`"],
  ["(a)\\1", "error parsing regexp: invalid escape sequence: `\\1`"],
  ["(abc", "error parsing regexp: missing closing ): `(abc`"],
  ["abc)", "error parsing regexp: unexpected ): `abc)`"],
  ["[abc", "error parsing regexp: missing closing ]: `[abc`"],
  ["x{1001}", "error parsing regexp: invalid repeat count: `{1001}`"],
  ["x{3,2}", "error parsing regexp: invalid repeat count: `{3,2}`"],
  ["*", "error parsing regexp: missing argument to repetition operator: `*`"],
  ["a**", "error parsing regexp: invalid nested repetition operator: `**`"],
  ["\\C", "error parsing regexp: invalid escape sequence: `\\C`"],
  ["\\e", "error parsing regexp: invalid escape sequence: `\\e`"],
  ["[\\b]", "error parsing regexp: invalid escape sequence: `\\b`"],
  ["[z-a]", "error parsing regexp: invalid character class range: `z-a`"],
  ["[[:nope:]]", "error parsing regexp: invalid character class range: `[:nope:]`"],
  ["\\p{Nope}", "error parsing regexp: invalid character class range: `\\p{Nope}`"],
  ["(?P<a>x)(?P<a>y)", "error parsing regexp: duplicate capture group name: `a`"],
  ["\\", "error parsing regexp: trailing backslash at end of expression: ``"],
];

test.each(refusals)("%p is refused", (pattern, message) => {
  expect(() => compileRe2(pattern)).toThrow(RegexSyntaxError);
  expect(() => compileRe2(pattern)).toThrow(message);
});

test("inline flags other than a leading group are refused rather than mistranslated", () => {
  expect(() => compileRe2("a(?i)b")).toThrow(RegexSyntaxError);
  expect(() => compileRe2("(?i:a)b")).toThrow(RegexSyntaxError);
  expect(() => compileRe2("(?U)a+")).toThrow(RegexSyntaxError);
});
