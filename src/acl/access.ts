/** Access levels, resources and decisions of Consul's ACL system (acl/acl.go, acl/authorizer.go). */

export const Access = { Deny: "deny", Read: "read", List: "list", Write: "write" } as const;
export type Access = (typeof Access)[keyof typeof Access];

/** What a check asks for; `list` exists only for keys (Consul's AccessList). */
export type Level = "read" | "list" | "write";

/** Resource names as Consul's permission-denied messages spell them. */
export const Resource = {
  ACL: "acl",
  Agent: "agent",
  Event: "event",
  Intention: "intention",
  Key: "key",
  Keyring: "keyring",
  Mesh: "mesh",
  Node: "node",
  Operator: "operator",
  Peering: "peering",
  Query: "query",
  Service: "service",
  Session: "session",
} as const;
export type Resource = (typeof Resource)[keyof typeof Resource];

/** Resources whose rules are keyed by a name (exact and prefix forms). */
export type NamedResource = "agent" | "event" | "intention" | "key" | "node" | "query" | "service" | "session";
/** Resources with one rule for everything. */
export type GlobalResource = "acl" | "keyring" | "mesh" | "operator" | "peering";

export const Decision = { Default: 0, Allow: 1, Deny: 2 } as const;
export type Decision = (typeof Decision)[keyof typeof Decision];

/** What an access level grants for a required level (Consul's enforce). */
export function enforce(granted: Access, required: Level): Decision {
  switch (granted) {
    case "write":
      return Decision.Allow;
    case "list":
      return required === "write" ? Decision.Deny : Decision.Allow;
    case "read":
      return required === "read" ? Decision.Allow : Decision.Deny;
    case "deny":
      return Decision.Deny;
  }
}

const RANK: Record<Access, number> = { deny: 4, write: 3, list: 2, read: 1 };

/** When two rules name the same thing, deny beats write beats list beats read (Consul's takesPrecedenceOver). */
export function strongest(a: Access, b: Access): Access {
  return RANK[a] >= RANK[b] ? a : b;
}

export function isAccess(v: unknown): v is Access {
  return v === "deny" || v === "read" || v === "list" || v === "write";
}
