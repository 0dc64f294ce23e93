/** HCL 1's nested blocks inside values, rewritten for the HCL 2 parser; nothing else touched. */
import { expect, test } from "bun:test";
import { hcl1NestedBlocks } from "../../src/hcl/hcl1.ts";
import { HclSyntaxError, parseHcl } from "../../src/hcl/mod.ts";

test("a nested block inside a list or object value gets its `=`; body blocks stay blocks", () => {
  expect(hcl1NestedBlocks("Routes = [{ Match { HTTP { PathPrefix = \"/a\" } } }]")).toBe('Routes = [{ Match = { HTTP = { PathPrefix = "/a" } } }]');
  const body = 'service "web" {\n  check { ttl = "1s" }\n}\nkey_prefix "app/" { policy = "write" }\n';
  expect(hcl1NestedBlocks(body)).toBe(body);
});

test("strings, comments and heredocs are left alone, even when they hold braces", () => {
  const text = [
    'A = [{ Note = "Match { x }" }] # Match { y }',
    "// B { }",
    "/* C { } */",
    "D = [{ E = <<EOT",
    "F { G }",
    "EOT",
    "}]",
    'H = "${var.x} { }"',
  ].join("\n");
  expect(hcl1NestedBlocks(text)).toBe(text);
});

test("Consul's service-router example parses; broken HCL keeps the error of the text as written", async () => {
  const router = 'Kind = "service-router"\nName = "web"\nRoutes = [\n  {\n    Match {\n      HTTP {\n        PathPrefix = "/admin"\n      }\n    }\n    Destination {\n      Service = "admin"\n    }\n  },\n]\n';
  expect(await parseHcl(router, "r.hcl")).toEqual({ Kind: "service-router", Name: "web", Routes: [{ Match: { HTTP: { PathPrefix: "/admin" } }, Destination: { Service: "admin" } }] });
  const broken = 'Routes = [{ Match { HTTP { PathPrefix = } } }]';
  const err = await parseHcl(broken, "b.hcl").then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(HclSyntaxError);
  expect((err as Error).message).toStartWith("b.hcl:1,");
});

test("deep or unbalanced input does not throw from the rewriter", () => {
  const deep = "A = " + "[".repeat(5000) + "]".repeat(5000);
  expect(hcl1NestedBlocks(deep)).toBe(deep);
  expect(hcl1NestedBlocks("A = [{ B { ")).toBe("A = [{ B = { ");
  expect(hcl1NestedBlocks("}}}]]] X {")).toBe("}}}]]] X {");
});
