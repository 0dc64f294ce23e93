/** The agent configuration's `acl` block (Consul's ACL config, current names plus the deprecated token names). */
import { AGENT_ACL_DISABLED, type AgentAclSettings, type TokenName } from "./acl.ts";
import { ConfigError } from "./config_error.ts";
import { checkKeys } from "./config_keys.ts";
import { parseGoDuration } from "../structs/duration.ts";

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const TOKEN_KEYS: Readonly<Record<string, TokenName>> = {
  initial_management: "initial_management",
  master: "initial_management",
  agent: "agent",
  agent_recovery: "agent_recovery",
  agent_master: "agent_recovery",
  default: "default",
  dns: "dns",
  replication: "replication",
  config_file_service_registration: "config_file_service_registration",
};

export function defaultAclSettings(): AgentAclSettings {
  return AGENT_ACL_DISABLED;
}

/** Merges an `acl` block over `current`; the values never reach a log line. */
export function mergeAclBlock(current: AgentAclSettings, v: unknown, file: string): AgentAclSettings {
  if (!isObj(v)) throw new ConfigError(`${file}: acl must be an object`);
  checkKeys(file, "acl.", v, ["enabled", "default_policy", "down_policy", "enable_token_persistence", "enable_token_replication", "enable_key_list_policy", "token_ttl", "policy_ttl", "role_ttl", "tokens"]);
  const out: { -readonly [K in keyof AgentAclSettings]: AgentAclSettings[K] } = { ...current, tokens: { ...current.tokens } };
  for (const [key, val] of Object.entries(v)) {
    switch (key) {
      case "enabled":
      case "enable_token_persistence":
      case "enable_token_replication":
      case "enable_key_list_policy":
        if (typeof val !== "boolean") throw new ConfigError(`${file}: acl.${key} must be a boolean, got ${JSON.stringify(val)}`);
        if (key === "enabled") out.enabled = val;
        if (key === "enable_token_persistence") out.enableTokenPersistence = val;
        if (key === "enable_token_replication") out.enableTokenReplication = val;
        break;
      case "default_policy":
        if (val !== "allow" && val !== "deny") throw new ConfigError(`${file}: acl.default_policy must be "allow" or "deny", got ${JSON.stringify(val)}`);
        out.defaultPolicy = val;
        break;
      case "down_policy":
        if (val !== "allow" && val !== "deny" && val !== "extend-cache" && val !== "async-cache") {
          throw new ConfigError(`${file}: acl.down_policy must be one of allow, deny, extend-cache, async-cache; got ${JSON.stringify(val)}`);
        }
        out.downPolicy = val;
        break;
      case "token_ttl":
      case "policy_ttl":
      case "role_ttl": {
        const ms = typeof val === "string" ? parseGoDuration(val) : null;
        if (ms === null || ms < 0) throw new ConfigError(`${file}: acl.${key} must be a duration such as "30s", got ${JSON.stringify(val)}`);
        if (key === "token_ttl") out.tokenTtlMs = ms;
        break;
      }
      case "tokens": {
        if (!isObj(val)) throw new ConfigError(`${file}: acl.tokens must be an object`);
        checkKeys(file, "acl.tokens.", val, Object.keys(TOKEN_KEYS));
        for (const [name, secret] of Object.entries(val)) {
          // The secret itself is never echoed.
          if (typeof secret !== "string") throw new ConfigError(`${file}: acl.tokens.${name} must be a string`);
          out.tokens = { ...out.tokens, [TOKEN_KEYS[name]!]: secret };
        }
        break;
      }
    }
  }
  return out;
}
