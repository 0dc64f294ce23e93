/**
 * Authorizers (acl/policy_authorizer.go, acl/chained_authorizer.go): the
 * merged rules of a token's policies decide first; what they leave open
 * falls to the agent's default policy.
 */
import { type Access, Decision, enforce, strongest, type GlobalResource, type Level, type NamedResource, type Resource } from "./access.ts";
import { NameRules } from "./name_rules.ts";
import { GLOBAL_RULES, NAMED_BLOCKS, type RuleSet } from "./rules.ts";

/** The rules of every policy a token holds, merged (Consul's policy merger + policyAuthorizer). */
export class PolicyAuthorizer {
  private readonly named = new Map<NamedResource, NameRules>();
  private readonly global = new Map<GlobalResource, Access>();

  constructor(sets: readonly RuleSet[]) {
    // Service rules merged per name, to derive intentions from once all policies are in.
    const services = { exact: new Map<string, [Access, Access | undefined]>(), prefix: new Map<string, [Access, Access | undefined]>() };
    for (const set of sets) {
      for (const block of NAMED_BLOCKS) {
        const list = set[block];
        if (!list) continue;
        const prefix = block.endsWith("_prefix");
        const resource = (prefix ? block.slice(0, -"_prefix".length) : block) as NamedResource;
        for (const rule of list) {
          this.rulesOf(resource).add(rule.Name, rule.Policy, prefix);
          if (resource !== "service") continue;
          const m = prefix ? services.prefix : services.exact;
          const had = m.get(rule.Name);
          const intentions = had?.[1] === undefined ? rule.Intentions : rule.Intentions === undefined ? had[1] : strongest(had[1], rule.Intentions);
          m.set(rule.Name, [had ? strongest(had[0], rule.Policy) : rule.Policy, intentions]);
        }
      }
      for (const g of GLOBAL_RULES) {
        const v = set[g];
        if (v === undefined) continue;
        const had = this.global.get(g);
        this.global.set(g, had === undefined ? v : strongest(had, v));
      }
    }
    // Without an intentions level, service read or write gives intentions read; anything else denies.
    for (const [prefix, m] of [[false, services.exact], [true, services.prefix]] as const) {
      for (const [name, [policy, intentions]] of m) {
        this.rulesOf("intention").add(name, intentions ?? (policy === "read" || policy === "write" ? "read" : "deny"), prefix);
      }
    }
  }

  private rulesOf(r: NamedResource): NameRules {
    let n = this.named.get(r);
    if (!n) this.named.set(r, (n = new NameRules()));
    return n;
  }

  decide(resource: Resource, level: Level, name: string): Decision {
    switch (resource) {
      case "acl":
      case "keyring":
      case "operator":
        return this.globalDecision(resource, level);
      case "mesh":
      case "peering":
        // Without a mesh/peering rule, the operator rule applies.
        return this.global.has(resource) ? this.globalDecision(resource, level) : this.globalDecision("operator", level);
      case "intention":
        if (name === "*" && level === "read") return this.named.get("intention")?.anyAllowed(level) ?? Decision.Default;
        return this.named.get(resource)?.decide(name, level) ?? Decision.Default;
      default:
        return this.named.get(resource)?.decide(name, level) ?? Decision.Default;
    }
  }

  keyWritePrefix(prefix: string): Decision {
    return this.named.get("key")?.writePrefix(prefix) ?? Decision.Default;
  }

  private globalDecision(r: GlobalResource, level: Level): Decision {
    const a = this.global.get(r);
    return a === undefined ? Decision.Default : enforce(a, level);
  }
}

/**
 * The last link of the chain: the agent's `default_policy` ("allow",
 * "deny"), or "manage" (everything, ACL system included: ACLs off).
 */
export type DefaultPolicy = "allow" | "deny" | "manage";

/**
 * A token's authorizer: its policies, then the default policy. Under
 * `allow`, everything the policies leave open is allowed except the ACL
 * system itself (Consul's AllowAll never grants acl:read/write).
 */
export class Authorizer {
  readonly accessorId: string;
  private readonly policy: PolicyAuthorizer | null;
  private readonly defaultPolicy: DefaultPolicy;

  constructor(accessorId: string, policy: PolicyAuthorizer | null, defaultPolicy: DefaultPolicy) {
    this.accessorId = accessorId;
    this.policy = policy;
    this.defaultPolicy = defaultPolicy;
  }

  allowed(resource: Resource, level: Level, name = ""): boolean {
    const d = this.policy ? this.policy.decide(resource, level, name) : Decision.Default;
    if (d !== Decision.Default) return d === Decision.Allow;
    return this.defaultPolicy === "manage" || (this.defaultPolicy === "allow" && resource !== "acl");
  }

  /** Delete of everything under `prefix` (recursive KV delete). */
  keyWritePrefixAllowed(prefix: string): boolean {
    const d = this.policy ? this.policy.keyWritePrefix(prefix) : Decision.Default;
    if (d !== Decision.Default) return d === Decision.Allow;
    return this.defaultPolicy !== "deny";
  }
}

/** What ACLs-off means: every check passes. */
export const ALLOW_ALL = new Authorizer("", null, "manage");
