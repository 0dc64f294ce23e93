/** The rules language: HCL and JSON spellings, validation with Consul's messages, hostile input. */
import { describe, expect, test } from "bun:test";
import { GLOBAL_MANAGEMENT_RULES, GLOBAL_MANAGEMENT_RULES_TEXT, parseRules, RulesError } from "../../src/acl/mod.ts";
import { parseHcl } from "../../src/hcl/mod.ts";

describe("parseRules", () => {
  test("HCL and JSON spellings give the same rule set", async () => {
    const hcl = await parseRules(`
key_prefix "app/" {
  policy = "write"
}
key "app/secret" { policy = "deny" }
service "web" {
  policy     = "read"
  intentions = "write"
}
node_prefix "" { policy = "read" }
operator = "read"
`);
    const json = await parseRules(
      JSON.stringify({
        key_prefix: { "app/": { policy: "write" } },
        key: { "app/secret": { policy: "deny" } },
        service: { web: { policy: "read", intentions: "write" } },
        node_prefix: { "": { policy: "read" } },
        operator: "read",
      }),
    );
    expect(hcl).toEqual(json);
    expect(hcl.key_prefix).toEqual([{ Name: "app/", Policy: "write" }]);
    expect(hcl.service).toEqual([{ Name: "web", Policy: "read", Intentions: "write" }]);
    expect(hcl.operator).toBe("read");
  });

  test("the global-management text parses to the built-in rule set", async () => {
    expect(await parseRules(GLOBAL_MANAGEMENT_RULES_TEXT)).toEqual(GLOBAL_MANAGEMENT_RULES);
  });

  test("repeated blocks for one name are all kept (merged later by precedence)", async () => {
    const r = await parseRules(`key "a" { policy = "read" }\nkey "a" { policy = "deny" }`);
    expect(r.key).toEqual([
      { Name: "a", Policy: "read" },
      { Name: "a", Policy: "deny" },
    ]);
  });

  test("bad levels are refused with Consul's message forms", async () => {
    await expect(parseRules(`key "a" { policy = "wrte" }`)).rejects.toThrow(/^Invalid key policy: "a"/);
    await expect(parseRules(`service "a" { policy = "list" }`)).rejects.toThrow(/^Invalid service policy/);
    await expect(parseRules(`service "a" {\n policy = "read"\n intentions = "all"\n}`)).rejects.toThrow(/^Invalid service intentions policy/);
    await expect(parseRules(`operator = "list"`)).rejects.toThrow(`Invalid operator policy: "list"`);
    await expect(parseRules(`keyring = 3`)).rejects.toThrow(`Invalid keyring policy: 3`);
    // list is a key-only level.
    expect((await parseRules(`key_prefix "" { policy = "list" }`)).key_prefix).toEqual([{ Name: "", Policy: "list" }]);
  });

  test("syntax errors name the line and column", async () => {
    const err = await parseRules(`key "a" { policy = `).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RulesError);
    expect((err as Error).message).toMatch(/^Failed to parse ACL rules: rules.hcl:1,/);
    await expect(parseRules(`{"key": `)).rejects.toThrow(/^Failed to parse ACL rules/);
    await expect(parseRules(`{"key": {"a": 5}}`)).rejects.toThrow(/must be a block/);
  });

  test("hostile input: huge, deep and binary texts are refused or parsed without harm", async () => {
    await expect(parseRules(`key "a" { policy = "read" }\n`.repeat(10_000))).rejects.toThrow(/more than the/);
    await expect(parseRules("{".repeat(5000))).rejects.toThrow(/^Failed to parse ACL rules/);
    await expect(parseRules(`key "a" ${"{".repeat(2000)}`)).rejects.toThrow(/^Failed to parse ACL rules/);
    await expect(parseRules("\u0000\u0001\u00ff garbage")).rejects.toThrow(/^Failed to parse ACL rules/);
    // Unknown keys are ignored, as Consul's decoder does.
    expect(await parseRules(`unknown_thing "x" { policy = "read" }`)).toEqual({});
  });

  test("parseHcl turns blocks into label maps", async () => {
    expect(await parseHcl(`a "b" {\n c = 1\n}\nd = "e"`, "x.hcl")).toEqual({ a: { b: [{ c: 1 }] }, d: "e" });
  });
});
