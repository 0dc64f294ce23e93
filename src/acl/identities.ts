/**
 * Rules Consul synthesizes rather than stores: service and node identities
 * (agent/structs/acl.go's templates) and the built-in policies.
 */
import type { RuleSet } from "./rules.ts";

/** Service identity: write on the service and its sidecar, read on every service and node (for discovery). */
export function serviceIdentityRules(serviceName: string): RuleSet {
  return {
    service: [
      { Name: serviceName, Policy: "write" },
      { Name: `${serviceName}-sidecar-proxy`, Policy: "write" },
    ],
    service_prefix: [{ Name: "", Policy: "read" }],
    node_prefix: [{ Name: "", Policy: "read" }],
  };
}

/** Node identity: write on the node, read on every service. */
export function nodeIdentityRules(nodeName: string): RuleSet {
  return {
    node: [{ Name: nodeName, Policy: "write" }],
    service_prefix: [{ Name: "", Policy: "read" }],
  };
}

/** The `builtin/dns` templated policy: what DNS answers need. */
export const DNS_TEMPLATE_RULES: RuleSet = {
  node_prefix: [{ Name: "", Policy: "read" }],
  service_prefix: [{ Name: "", Policy: "read" }],
  query_prefix: [{ Name: "", Policy: "read" }],
};

export const GLOBAL_MANAGEMENT_POLICY_ID = "00000000-0000-0000-0000-000000000001";
export const GLOBAL_MANAGEMENT_POLICY_NAME = "global-management";
export const GLOBAL_READ_ONLY_POLICY_ID = "00000000-0000-0000-0000-000000000002";
export const GLOBAL_READ_ONLY_POLICY_NAME = "builtin/global-read-only";

/** The global-management policy's rules text, as Consul stores it. */
export const GLOBAL_MANAGEMENT_RULES_TEXT = `
acl = "write"
agent_prefix "" {
  policy = "write"
}
event_prefix "" {
  policy = "write"
}
key_prefix "" {
  policy = "write"
}
keyring = "write"
node_prefix "" {
  policy = "write"
}
operator = "write"
mesh = "write"
peering = "write"
query_prefix "" {
  policy = "write"
}
service_prefix "" {
  policy = "write"
  intentions = "write"
}
session_prefix "" {
  policy = "write"
}`;

const all = (policy: "read" | "write") => [{ Name: "", Policy: policy }] as const;

export const GLOBAL_MANAGEMENT_RULES: RuleSet = {
  acl: "write",
  agent_prefix: all("write"),
  event_prefix: all("write"),
  key_prefix: all("write"),
  keyring: "write",
  node_prefix: all("write"),
  operator: "write",
  mesh: "write",
  peering: "write",
  query_prefix: all("write"),
  service_prefix: [{ Name: "", Policy: "write", Intentions: "write" }],
  session_prefix: all("write"),
};

export const GLOBAL_READ_ONLY_RULES_TEXT = `
acl = "read"
agent_prefix "" {
  policy = "read"
}
event_prefix "" {
  policy = "read"
}
key_prefix "" {
  policy = "read"
}
keyring = "read"
node_prefix "" {
  policy = "read"
}
operator = "read"
mesh = "read"
peering = "read"
query_prefix "" {
  policy = "read"
}
service_prefix "" {
  policy = "read"
  intentions = "read"
}
session_prefix "" {
  policy = "read"
}`;

export const GLOBAL_READ_ONLY_RULES: RuleSet = {
  acl: "read",
  agent_prefix: all("read"),
  event_prefix: all("read"),
  key_prefix: all("read"),
  keyring: "read",
  node_prefix: all("read"),
  operator: "read",
  mesh: "read",
  peering: "read",
  query_prefix: all("read"),
  service_prefix: [{ Name: "", Policy: "read", Intentions: "read" }],
  session_prefix: all("read"),
};
