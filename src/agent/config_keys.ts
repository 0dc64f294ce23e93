/**
 * Config keys this agent does not take. Consul refuses an unknown key rather
 * than ignoring it (a misspelt `acl` block would otherwise leave an operator
 * believing the agent is locked down), and so do we; a Consul option that
 * Consulate has not built yet is refused with a message that says so.
 *
 * When a feature lands, delete its rows from NOT_SUPPORTED_YET and read the
 * key in config.ts.
 */
import { ConfigError } from "./config_error.ts";

/** Consul options (top-level, or "block.key" inside a block) that are not built yet, with what they are. */
export const NOT_SUPPORTED_YET: Readonly<Record<string, string>> = {
  acl_datacenter: "ACLs",
  acl_default_policy: "ACLs",
  acl_down_policy: "ACLs",
  acl_master_token: "ACLs",
  acl_agent_master_token: "ACLs",
  acl_agent_token: "ACLs",
  acl_token: "ACLs",
  acl_replication_token: "ACLs",
  acl_ttl: "ACLs",
  acl_enable_key_list_policy: "ACLs",
  enable_acl_replication: "ACLs",
  "ports.grpc": "the gRPC (xDS) listener",
  "ports.grpc_tls": "the gRPC (xDS) listener",
  auto_config: "auto-config",
  encrypt_verify_incoming: "gossip encryption rollout switches",
  encrypt_verify_outgoing: "gossip encryption rollout switches",
  audit: "audit logging",
  license_path: "Consul Enterprise licensing",
  segment: "network segments",
  segments: "network segments",
  partition: "admin partitions",
  peering: "cluster peering",
  config_entries: "config entries bootstrapped from the agent config",
  autopilot: "autopilot",
  telemetry: "the telemetry block",
  addresses: "per-listener addresses (use client_addr)",
  "limits.rpc_rate": "RPC rate limiting",
  "limits.rpc_max_burst": "RPC rate limiting",
  "limits.request_limits": "request rate limiting",
};

/** The error for a key the agent does not take: "not supported yet", or Consul's "invalid config key". */
export function unknownKey(file: string, key: string): ConfigError {
  const feature = NOT_SUPPORTED_YET[key];
  if (feature !== undefined) return new ConfigError(`Error parsing ${file}: ${key} is a Consul option that Consulate does not support yet (${feature}); remove it from the file`);
  return new ConfigError(`Error parsing ${file}: invalid config key ${key}`);
}

/** Throws for the first key of `block` that `known` does not list. */
export function checkKeys(file: string, prefix: string, block: Record<string, unknown>, known: readonly string[]): void {
  for (const key of Object.keys(block)) if (!known.includes(key)) throw unknownKey(file, `${prefix}${key}`);
}
