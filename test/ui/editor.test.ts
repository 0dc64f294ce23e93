/**
 * The KV editor's language support (ui/assets/editor.js, plain browser JS
 * with no DOM): each of JSON, YAML and HCL is checked with a message naming
 * the line, and highlighting splits the text without losing any of it.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";

interface Editor {
  validate(lang: string, text: string): string | null;
  highlight(lang: string, text: string): [string, string][];
  guessLanguage(key: string, value: string): string;
}
// A path the type checker does not follow: the module is JavaScript for the browser.
const editorPath = join(import.meta.dir, "../../ui/assets/editor.js");
const ed = (await import(editorPath)) as Editor;

describe("validation", () => {
  test("JSON: exact, with line and column", () => {
    expect(ed.validate("json", '{"a": [1, 2.5e3, true, null, "x\\n"]}')).toBeNull();
    expect(ed.validate("json", '{"a": 1,}')).toBe('Invalid JSON: line 1, column 9: expected a property name in double quotes, found "}"');
    expect(ed.validate("json", '{"a": 1\n "b": 2}')).toBe('Invalid JSON: line 2, column 2: expected "," or "}" after a property value, found """');
    expect(ed.validate("json", "[1, 2")).toContain("found the end of the value");
    expect(ed.validate("json", "{'a': 1}")).toContain("expected a property name in double quotes");
    expect(ed.validate("json", "01")).toContain("unexpected text after the value");
    // Deep nesting is refused with a message, not a stack overflow.
    expect(ed.validate("json", "[".repeat(100_000))).toContain("nesting too deep");
  });

  test("YAML: indentation, mappings and sequences, duplicates, quotes and flow collections", () => {
    const good = [
      "a: 1\nb:\n  c: 2\n  d: [1, {x: 2}]\nlist:\n  - x\n  - y: 1\n    z: 2\n",
      "a:\n- 1\n- 2\nb: 3",
      "key: |\n  line one\n  line: two\nnext: 1",
      "a: 'it''s'\nb: \"q: r\"\n# comment\n---\nx: &anchor 1\ny: *anchor\nurl: http://example.com/a",
      "plain: a long\n  text going on\nz: 1",
      "just a scalar",
    ];
    for (const g of good) expect(ed.validate("yaml", g)).toBeNull();
    expect(ed.validate("yaml", "a: 1\n  b: 2")).toBe("Invalid YAML: line 2: unexpected indentation");
    expect(ed.validate("yaml", "a: 1\n\tb: 2")).toBe("Invalid YAML: line 2 is indented with a tab (YAML allows spaces only)");
    expect(ed.validate("yaml", "a: 1\nb: 2\na: 3")).toBe('Invalid YAML: line 3: duplicate key "a" (first on line 1)');
    expect(ed.validate("yaml", "a:\n  - x\n  y: 1")).toBe('Invalid YAML: line 3: a mapping key where a sequence item ("- ") was expected');
    expect(ed.validate("yaml", "a: b: c")).toContain("line 1: a mapping value is not allowed here");
    expect(ed.validate("yaml", "a: [1,\n  2")).toBe("Invalid YAML: a flow collection ([ or {) is never closed");
    expect(ed.validate("yaml", "a:\n    b: 1\n  c: 2")).toContain("line 3");
  });

  test("HCL: attributes, blocks, expressions, heredocs; what is wrong and where", () => {
    const good = [
      'service "web" {\n  port = 80\n  tags = ["a", "b"]\n  meta = {\n    x = "1"\n  }\n}\n',
      'key_prefix "" {\n  policy = "read"\n}\n# comment\n/* multi\nline */\nservice_prefix "" { policy = "write" }',
      'x = "${var.a}-${upper("b")}"\ny = var.list[0].name\nz = a ? b : c\nw = [for s in var.l : upper(s)]\nh = <<EOF\nhello\nEOF\n',
      "a = {\n b = 1,\n c = 2\n}\nn = -1.5 * (2 + 3)",
    ];
    for (const g of good) expect(ed.validate("hcl", g)).toBeNull();
    expect(ed.validate("hcl", "a = 1\na = 2")).toBe('Invalid HCL: line 2: the attribute "a" is defined twice (first on line 1)');
    expect(ed.validate("hcl", "a = ")).toBe("Invalid HCL: line 1: expected a value, found the end of the value");
    expect(ed.validate("hcl", "a =\nb = 1")).toBe("Invalid HCL: line 1: expected a value, found a line break");
    expect(ed.validate("hcl", 'a = "x')).toBe("Invalid HCL: line 1: a string is never closed");
    expect(ed.validate("hcl", "block {\n a = 1\n")).toBe('Invalid HCL: line 3: expected an attribute, a block or "}", found the end of the value');
    expect(ed.validate("hcl", "a = 1 b = 2")).toBe('Invalid HCL: line 1: expected a line break after the item, found "b"');
    expect(ed.validate("hcl", "x = [1, 2\ny = 3")).toContain('expected "," or "]" in the list');
    expect(ed.validate("hcl", "a = 1 $")).toBe('Invalid HCL: line 1: unexpected character "$"');
    expect(ed.validate("hcl", "a = " + "[".repeat(10_000))).toContain("nesting too deep");
  });

  test("text is never refused; the language is guessed from the key, then the value", () => {
    expect(ed.validate("text", "{ not json")).toBeNull();
    expect(ed.guessLanguage("app/config.yml", "")).toBe("yaml");
    expect(ed.guessLanguage("x", '{"a": 1}')).toBe("json");
    expect(ed.guessLanguage("x", 'service "a" {\n  port = 1\n}')).toBe("hcl");
    expect(ed.guessLanguage("x", "a: 1\nb: 2")).toBe("yaml");
    expect(ed.guessLanguage("x", "hello")).toBe("text");
  });
});

describe("highlighting", () => {
  const join = (pieces: [string, string][]) => pieces.map((p) => p[1]).join("");
  test("every language keeps the text and marks keys, strings, numbers and comments", () => {
    const samples: Record<string, string> = {
      json: '{"a": [1, true, "s"], "b": {"c": null}}',
      yaml: "a: 1\n- b: 'x' # c\nd: \"e\"\n",
      hcl: 'service "web" {\n  port = 80 # x\n  h = <<EOF\nhi\nEOF\n}',
    };
    for (const [lang, text] of Object.entries(samples)) expect(join(ed.highlight(lang, text))).toBe(text);
    expect(ed.highlight("json", '{"a": 1}').filter(([c]) => c !== "" && c !== "punct")).toEqual([["key", '"a"'], ["num", "1"]]);
    expect(ed.highlight("hcl", 'service "web" {\n  port = 80 # x\n}').filter(([c]) => c !== "" && c !== "punct")).toEqual([["block", "service"], ["str", '"web"'], ["key", "port"], ["num", "80"], ["comment", "# x"]]);
    expect(ed.highlight("yaml", "a: 1 # c\n").filter(([c]) => c !== "")).toEqual([["key", "a"], ["num", "1"], ["comment", "# c"]]);
    expect(ed.highlight("text", "a = 1")).toEqual([["", "a = 1"]]);
    // A large value is split in one pass.
    const big = '{"k": "v"},'.repeat(5_000);
    expect(join(ed.highlight("json", big))).toBe(big);
  });

  test("long runs of blanks or dashes do not make the rules look back over them at every character", () => {
    for (const text of [" ".repeat(90_000) + "x: 1", "- ".repeat(45_000) + "x: 1", "\t".repeat(90_000) + "a = 1"]) {
      for (const lang of ["json", "yaml", "hcl"]) {
        expect(join(ed.highlight(lang, text))).toBe(text);
        expect(typeof (ed.validate(lang, text) ?? "")).toBe("string");
      }
    }
  }, 10_000);
});
