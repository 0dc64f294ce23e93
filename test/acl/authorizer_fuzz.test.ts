/**
 * Random policies (written as HCL and as JSON text, parsed by the real
 * parser) against random resources: the compiled authorizer's decision must
 * match a direct reading of Consul's rules, written here from scratch.
 */
import { expect, test } from "bun:test";
import { type Access, Authorizer, type Level, parseRules, PolicyAuthorizer, type Resource, type RuleSet } from "../../src/acl/mod.ts";
import { seededRandom } from "../../src/gossip/random.ts";

const NAMED = ["agent", "event", "key", "node", "query", "service", "session"] as const;
const GLOBAL = ["acl", "keyring", "mesh", "operator", "peering"] as const;
const LEVELS: Level[] = ["read", "list", "write"];
const NAMES = ["", "a", "ab", "abc", "b", "ba", "a/b", "a/bc"];

interface Rule {
  kind: string;
  name: string;
  policy: Access;
  intentions?: Access;
}

const RANK: Record<Access, number> = { read: 1, list: 2, write: 3, deny: 4 };
const strongest = (xs: Access[]): Access => xs.reduce((a, b) => (RANK[b] > RANK[a] ? b : a));
const grants = (a: Access, l: Level): boolean => a === "write" || (a === "list" && l !== "write") || (a === "read" && l === "read");

/** Consul's semantics, the slow and obvious way. */
function reference(policies: Rule[][], dflt: "allow" | "deny", resource: Resource, level: Level, name: string): boolean {
  const all = policies.flat();
  const fallback = (): boolean => dflt === "allow" && resource !== "acl";
  if ((GLOBAL as readonly string[]).includes(resource)) {
    let kind: string = resource;
    if ((resource === "mesh" || resource === "peering") && !all.some((r) => r.kind === resource)) kind = "operator";
    const rules = all.filter((r) => r.kind === kind);
    return rules.length === 0 ? fallback() : grants(strongest(rules.map((r) => r.policy)), level);
  }
  const base = resource === "intention" ? "service" : resource;
  const pick = (r: Rule, prefix: boolean): boolean => r.kind === (prefix ? `${base}_prefix` : base);
  const levelOf = (rules: Rule[]): Access => {
    const policy = strongest(rules.map((r) => r.policy));
    if (resource !== "intention") return policy;
    const explicit = rules.map((r) => r.intentions).filter((x): x is Access => x !== undefined);
    if (explicit.length > 0) return strongest(explicit);
    return policy === "read" || policy === "write" ? "read" : "deny";
  };
  const exact = all.filter((r) => pick(r, false) && r.name === name);
  if (exact.length > 0) return grants(levelOf(exact), level);
  const prefixes = all.filter((r) => pick(r, true) && name.startsWith(r.name));
  if (prefixes.length === 0) return fallback();
  const longest = Math.max(...prefixes.map((r) => r.name.length));
  return grants(levelOf(prefixes.filter((r) => r.name.length === longest)), level);
}

function hcl(rules: Rule[]): string {
  return rules
    .map((r) => {
      if ((GLOBAL as readonly string[]).includes(r.kind)) return `${r.kind} = "${r.policy}"`;
      const intentions = r.intentions ? `\n  intentions = "${r.intentions}"` : "";
      return `${r.kind} "${r.name}" {\n  policy = "${r.policy}"${intentions}\n}`;
    })
    .join("\n");
}

function json(rules: Rule[]): string {
  const doc: Record<string, unknown> = {};
  for (const r of rules) {
    if ((GLOBAL as readonly string[]).includes(r.kind)) {
      doc[r.kind] = r.policy; // one global rule per policy in JSON (an object key appears once)
      continue;
    }
    const blocks = (doc[r.kind] ??= {}) as Record<string, unknown[]>;
    (blocks[r.name] ??= []).push(r.intentions ? { policy: r.policy, intentions: r.intentions } : { policy: r.policy });
  }
  return JSON.stringify(doc);
}

test("fuzz: compiled authorizer agrees with the reference on random rules and resources", async () => {
  const random = seededRandom(20261207);
  const rand = (): number => random.next();
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let checks = 0;
  let allowed = 0;
  for (let round = 0; round < 150; round++) {
    const policies: Rule[][] = [];
    const sets: RuleSet[] = [];
    for (let p = 0, n = 1 + Math.floor(rand() * 3); p < n; p++) {
      const rules: Rule[] = [];
      const globalsUsed = new Set<string>();
      for (let i = 0, m = Math.floor(rand() * 8); i < m; i++) {
        if (rand() < 0.15) {
          const kind = pick(GLOBAL);
          if (globalsUsed.has(kind)) continue; // HCL allows one attribute of a name per body
          globalsUsed.add(kind);
          rules.push({ kind, name: "", policy: pick(["read", "write", "deny"] as const) });
          continue;
        }
        const base = pick(NAMED);
        const kind = rand() < 0.5 ? base : `${base}_prefix`;
        const levels: Access[] = base === "key" ? ["read", "list", "write", "deny"] : ["read", "write", "deny"];
        const rule: Rule = { kind, name: pick(NAMES), policy: pick(levels) };
        if (base === "service" && rand() < 0.4) rule.intentions = pick(["read", "write", "deny"] as const);
        rules.push(rule);
      }
      policies.push(rules);
      const parsed = await parseRules(rand() < 0.5 ? hcl(rules) : json(rules));
      sets.push(parsed);
    }
    const dflt = rand() < 0.5 ? "allow" : "deny";
    const authz = new Authorizer("x", new PolicyAuthorizer(sets), dflt);
    for (let q = 0; q < 60; q++) {
      const resource = pick([...NAMED, ...GLOBAL, "intention"] as const) as Resource;
      const level: Level = resource === "key" ? pick(LEVELS) : pick(["read", "write"] as const);
      const name = pick([...NAMES, "abcd", "a/b/c", "zzz"]);
      const want = reference(policies, dflt, resource, level, name);
      const got = authz.allowed(resource, level, name);
      if (got !== want) {
        throw new Error(`mismatch for ${resource}:${level} on "${name}" (default ${dflt}): got ${got}, want ${want}\n${policies.map(hcl).join("\n---\n")}`);
      }
      checks++;
      if (got) allowed++;
    }
  }
  expect(checks).toBe(150 * 60);
  // Both outcomes are well represented, so agreement is not trivial.
  expect(allowed).toBeGreaterThan(checks * 0.2);
  expect(allowed).toBeLessThan(checks * 0.8);
});

test("exact beats prefix, longest prefix wins, deny wins at equal specificity", async () => {
  const a = new Authorizer(
    "x",
    new PolicyAuthorizer([
      await parseRules(`key_prefix "" { policy = "read" }\nkey_prefix "app/" { policy = "write" }\nkey "app/locked" { policy = "read" }`),
      await parseRules(`key_prefix "app/" { policy = "deny" }\nkey_prefix "app/open/" { policy = "write" }`),
    ]),
    "deny",
  );
  expect(a.allowed("key", "read", "other")).toBe(true);
  expect(a.allowed("key", "write", "other")).toBe(false);
  expect(a.allowed("key", "read", "app/x")).toBe(false); // deny merged with write at "app/"
  expect(a.allowed("key", "write", "app/open/x")).toBe(true); // longer prefix
  expect(a.allowed("key", "read", "app/locked")).toBe(true); // exact beats the denying prefix
  expect(a.allowed("key", "write", "app/locked")).toBe(false);
  expect(a.allowed("service", "read", "web")).toBe(false); // default deny
  expect(a.keyWritePrefixAllowed("app/open/")).toBe(true);
  expect(a.keyWritePrefixAllowed("")).toBe(false);
});
