/**
 * The rules of one named resource after merging: exact names and prefixes.
 * An exact rule beats any prefix; among prefixes the longest wins (Consul's
 * radix-tree walk, without the tree: policies hold tens of rules, so a scan of
 * prefixes sorted longest first is as fast and far smaller).
 */
import { type Access, type Level, Decision, enforce, strongest } from "./access.ts";

export class NameRules {
  private readonly exact = new Map<string, Access>();
  private readonly prefixMap = new Map<string, Access>();
  private prefixes: [string, Access][] = [];

  /** Adds a rule; one for the same name and kind merges by precedence (deny first). */
  add(name: string, access: Access, prefix: boolean): void {
    const map = prefix ? this.prefixMap : this.exact;
    const had = map.get(name);
    map.set(name, had === undefined ? access : strongest(had, access));
    if (prefix) this.prefixes = [...this.prefixMap].sort((a, b) => b[0].length - a[0].length);
  }

  get empty(): boolean {
    return this.exact.size === 0 && this.prefixMap.size === 0;
  }

  /** The rule that governs `name`, if any. */
  lookup(name: string): Access | undefined {
    const e = this.exact.get(name);
    if (e !== undefined) return e;
    for (const [p, access] of this.prefixes) if (name.startsWith(p)) return access;
    return undefined;
  }

  decide(name: string, level: Level): Decision {
    const access = this.lookup(name);
    return access === undefined ? Decision.Default : enforce(access, level);
  }

  /** Allow if any rule grants `level` (Consul's anyAllowed, for `intention:read` on "*"). */
  anyAllowed(level: Level): Decision {
    for (const a of this.exact.values()) if (enforce(a, level) === Decision.Allow) return Decision.Allow;
    for (const a of this.prefixMap.values()) if (enforce(a, level) === Decision.Allow) return Decision.Allow;
    return Decision.Default;
  }

  /**
   * Consul's KeyWritePrefix: write on a whole subtree needs the governing
   * prefix rule to grant write and no rule at or under the prefix to withhold it.
   */
  writePrefix(prefix: string): Decision {
    let base: Decision = Decision.Default;
    for (const [p, access] of this.prefixes) {
      if (prefix.startsWith(p)) {
        base = access === "write" ? Decision.Allow : Decision.Deny;
        break;
      }
    }
    if (base === Decision.Deny) return base;
    for (const [p, access] of this.prefixMap) if (p.startsWith(prefix) && access !== "write") return Decision.Deny;
    for (const [n, access] of this.exact) if (n.startsWith(prefix) && access !== "write") return Decision.Deny;
    return base;
  }
}
