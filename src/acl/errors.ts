/** ACL errors, with Consul's texts (acl/errors.go). Clients match the "Permission denied" and "ACL not found" prefixes. */
import type { Level, Resource } from "./access.ts";

export const ANONYMOUS_TOKEN_ID = "00000000-0000-0000-0000-000000000002";

/**
 * A request its token may not make. `accessorId` "" means the check had no
 * token detail (the bare "Permission denied").
 */
export class PermissionDeniedError extends Error {
  override readonly name = "PermissionDeniedError";
  readonly accessorId: string;
  readonly resource: Resource | "";
  readonly level: Level | "";
  readonly resourceName: string;

  constructor(accessorId: string, resource: Resource | "", level: Level | "", resourceName = "", cause = "") {
    super(permissionDeniedText(accessorId, resource, level, resourceName, cause));
    this.accessorId = accessorId;
    this.resource = resource;
    this.level = level;
    this.resourceName = resourceName;
  }

  /** Consul's `acl.PermissionDenied(cause)`: "Permission denied: <cause>". */
  static because(cause: string): PermissionDeniedError {
    return new PermissionDeniedError("", "", "", "", cause);
  }
}

function permissionDeniedText(accessor: string, resource: string, level: string, name: string, cause: string): string {
  if (cause !== "") return `Permission denied: ${cause}`;
  // No resource, or a synthetic authorizer without a token (down_policy's): the bare text, as Consul's.
  if (resource === "" || accessor === "") return "Permission denied";
  const who = accessor === ANONYMOUS_TOKEN_ID ? "anonymous token" : `token with AccessorID '${accessor}'`;
  let text = `Permission denied: ${who} lacks permission '${resource}:${level}'`;
  if (name !== "") text += ` on "${name}"`;
  if (accessor === ANONYMOUS_TOKEN_ID) text += ". The anonymous token is used implicitly when a request does not specify a token.";
  return text;
}

/** A token secret that matches no token (HTTP 403 "ACL not found"). */
export class ACLNotFoundError extends Error {
  override readonly name = "ACLNotFoundError";
  constructor(message = "ACL not found") {
    super(message);
  }
}

/** An ACL endpoint called while ACLs are disabled (HTTP 401 "ACL support disabled"). */
export class ACLDisabledError extends Error {
  override readonly name = "ACLDisabledError";
  constructor() {
    super("ACL support disabled");
  }
}

/** Rules text that does not parse or names an unknown access level. */
export class RulesError extends Error {
  override readonly name = "RulesError";
}
