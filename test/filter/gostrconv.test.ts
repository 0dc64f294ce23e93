import { expect, test } from "bun:test";
import { goParseBool, goParseInt, goQuote, goUnquote } from "../../src/filter/gostrconv.ts";

test("goQuote escapes like Go's %q", () => {
  expect(goQuote("Foo.Bar")).toBe('"Foo.Bar"');
  expect(goQuote('a"b\\c')).toBe('"a\\"b\\\\c"');
  expect(goQuote("tab\there\n")).toBe('"tab\\there\\n"');
  expect(goQuote("\u0001\u007f")).toBe('"\\x01\\x7f"');
  expect(goQuote("é∂ƒ")).toBe('"é∂ƒ"');
  expect(goQuote("\u200b")).toBe('"\\u200b"');
});

test("goUnquote follows strconv.Unquote", () => {
  expect(goUnquote('"plain"')).toBe("plain");
  expect(goUnquote('"\\a\\b\\f\\n\\r\\t\\v\\\\"')).toBe("\x07\b\f\n\r\t\v\\");
  expect(goUnquote('"\\u00e9\\U0001F600"')).toBe("é😀");
  expect(goUnquote('"\\101\\x42"')).toBe("AB");
  expect(goUnquote("`raw \\n\r`")).toBe("raw \\n");
  expect(goUnquote('"\\\'"')).toBeUndefined();
  expect(goUnquote('"\\400"')).toBeUndefined();
  expect(goUnquote('"\\ud800"')).toBeUndefined();
  expect(goUnquote('"\\x4"')).toBeUndefined();
  expect(goUnquote('"line\nbreak"')).toBeUndefined();
  expect(goUnquote('"trailing\\"')).toBeUndefined();
});

test("goParseInt reads base-0 64-bit ints", () => {
  expect(goParseInt("8080")).toEqual({ value: 8080n });
  expect(goParseInt("-12")).toEqual({ value: -12n });
  expect(goParseInt("0x1f")).toEqual({ value: 31n });
  expect(goParseInt("0b101")).toEqual({ value: 5n });
  expect(goParseInt("0o17")).toEqual({ value: 15n });
  expect(goParseInt("017")).toEqual({ value: 15n });
  expect(goParseInt("0")).toEqual({ value: 0n });
  expect(goParseInt("1_000")).toEqual({ value: 1000n });
  expect(goParseInt("0x_1f")).toEqual({ value: 31n });
  expect(goParseInt("-9223372036854775808")).toEqual({ value: -9223372036854775808n });
  expect(goParseInt("9223372036854775807")).toEqual({ value: 9223372036854775807n });
  expect(goParseInt("9223372036854775808")).toEqual({
    error: 'strconv.ParseInt: parsing "9223372036854775808": value out of range',
  });
  for (const bad of ["", "-", "08", "0x", "1__0", "_1", "1_", "1.5", "1e3", " 1", "٣"]) {
    expect(goParseInt(bad)).toEqual({ error: `strconv.ParseInt: parsing ${goQuote(bad)}: invalid syntax` });
  }
});

test("goParseBool accepts Go's spellings only", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) expect(goParseBool(t)).toEqual({ value: true });
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) expect(goParseBool(f)).toEqual({ value: false });
  expect(goParseBool("yes")).toEqual({ error: 'strconv.ParseBool: parsing "yes": invalid syntax' });
  expect(goParseBool("tRUE")).toEqual({ error: 'strconv.ParseBool: parsing "tRUE": invalid syntax' });
});
