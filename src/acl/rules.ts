/**
 * Consul's rules language (acl/policy.go) in both of its spellings: HCL
 * (`key_prefix "app/" { policy = "write" }`) and JSON
 * (`{"key_prefix": {"app/": {"policy": "write"}}}`). Parsed rules are a
 * plain JSON `RuleSet`, so a policy write can carry them in its log entry and
 * every server compiles the same authorizer without parsing again.
 */
import { type Access, isAccess } from "./access.ts";
import { RulesError } from "./errors.ts";
import { HclSyntaxError, parseHcl } from "../hcl/mod.ts";

export interface NamedRule {
  readonly Name: string;
  readonly Policy: Access;
  /** `service`/`service_prefix` only: the intentions level ("" derives it from Policy). */
  readonly Intentions?: Access;
}

export const NAMED_BLOCKS = [
  "agent",
  "agent_prefix",
  "event",
  "event_prefix",
  "key",
  "key_prefix",
  "node",
  "node_prefix",
  "query",
  "query_prefix",
  "service",
  "service_prefix",
  "session",
  "session_prefix",
] as const;
export type NamedBlock = (typeof NAMED_BLOCKS)[number];

export const GLOBAL_RULES = ["acl", "keyring", "mesh", "operator", "peering"] as const;
export type GlobalRule = (typeof GLOBAL_RULES)[number];

export type RuleSet = { readonly [K in NamedBlock]?: readonly NamedRule[] } & { readonly [K in GlobalRule]?: Access };

/** Largest rules text accepted (Consul has no explicit cap; this bounds the parser's work). */
export const MAX_RULES_BYTES = 128 * 1024;

/**
 * Parses rules text (HCL or JSON; "" is an empty policy).
 *
 * @example
 * const rules = await parseRules('key_prefix "app/" { policy = "write" }');
 * // { key_prefix: [{ Name: "app/", Policy: "write" }] }
 */
export async function parseRules(text: string): Promise<RuleSet> {
  if (text.trim() === "") return {};
  if (text.length > MAX_RULES_BYTES) throw new RulesError(`Failed to parse ACL rules: rules are ${text.length} bytes, more than the ${MAX_RULES_BYTES} allowed`);
  let doc: unknown;
  if (text.trimStart().startsWith("{")) {
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new RulesError(`Failed to parse ACL rules: ${(err as Error).message}`);
    }
  } else {
    try {
      doc = await parseHcl(text, "rules.hcl");
    } catch (err) {
      if (err instanceof HclSyntaxError) throw new RulesError(`Failed to parse ACL rules: ${err.message}`);
      throw err;
    }
  }
  return rulesFromDocument(doc);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** `{label: body}`, `{label: [body]}` and `[{label: body}]` all mean the same block list. */
function blocks(kind: string, v: unknown): [string, Obj][] {
  const out: [string, Obj][] = [];
  const list = Array.isArray(v) ? v : [v];
  for (const item of list) {
    if (!isObj(item)) throw new RulesError(`Failed to parse ACL rules: ${kind} must be a block with a name label`);
    for (const [label, body] of Object.entries(item)) {
      for (const b of Array.isArray(body) ? body : [body]) {
        if (!isObj(b)) throw new RulesError(`Failed to parse ACL rules: ${kind} "${label}" must be a block`);
        out.push([label, b]);
      }
    }
  }
  return out;
}

/** The rules of an already-decoded document (HCL-as-JSON or Consul's JSON form), validated as Consul does. */
export function rulesFromDocument(doc: unknown): RuleSet {
  if (!isObj(doc)) throw new RulesError("Failed to parse ACL rules: rules must be an object");
  const out: Record<string, unknown> = {};
  for (const [kind, value] of Object.entries(doc)) {
    if ((GLOBAL_RULES as readonly string[]).includes(kind)) {
      if (!isAccess(value) || value === "list") throw new RulesError(`Invalid ${kind} policy: ${JSON.stringify(value)}`);
      out[kind] = value;
      continue;
    }
    if (!(NAMED_BLOCKS as readonly string[]).includes(kind)) continue; // Consul's decoder ignores unknown keys.
    const rules: NamedRule[] = [];
    for (const [name, body] of blocks(kind, value)) {
      const policy = body.policy ?? body.Policy;
      const listOk = kind === "key" || kind === "key_prefix";
      if (!isAccess(policy) || (policy === "list" && !listOk)) {
        throw new RulesError(`Invalid ${kind} policy: ${JSON.stringify(name)} policy = ${JSON.stringify(policy ?? "")}`);
      }
      const intentions = body.intentions ?? body.Intentions;
      if (kind === "service" || kind === "service_prefix") {
        if (intentions !== undefined && intentions !== "" && (!isAccess(intentions) || intentions === "list")) {
          throw new RulesError(`Invalid ${kind} intentions policy: ${JSON.stringify(name)} intentions = ${JSON.stringify(intentions)}`);
        }
        rules.push(intentions ? { Name: name, Policy: policy, Intentions: intentions as Access } : { Name: name, Policy: policy });
      } else {
        rules.push({ Name: name, Policy: policy });
      }
    }
    out[kind] = rules;
  }
  return out as RuleSet;
}
