/**
 * Which ACL calls made in a secondary belong to the primary (Consul sends
 * them to the ACL datacenter): policies, roles and bootstrap always; a
 * token's create, update, clone and delete unless the token is local (as this
 * datacenter holds it, or as a new token's body asks). Auth methods, binding
 * rules and login stay in their datacenter, as Consul's do. A token read for
 * a token this datacenter does not hold (replication lagging or off) is
 * answered by the primary too.
 */
import type { ArgsOf, Method } from "../../rpc/types.ts";
import { aclTokenBySecret } from "../../state/mod.ts";
import type { Server } from "../server.ts";
import { bool, folded, str } from "./acl_input.ts";

type ForPrimary<M extends Method> = (s: Server, args: ArgsOf<M>) => boolean;

const always = (): boolean => true;

/** Global unless held here as local; a token not held here is the primary's. */
function heldGlobal(s: Server, accessor: string): boolean {
  const held = s.state.t.aclTokens.get(accessor);
  return held === undefined || !held.Local;
}

export const ACL_PRIMARY_CALLS: { readonly [M in Method]?: ForPrimary<M> } = {
  "ACL.BootstrapTokens": always,
  "ACL.PolicySet": always,
  "ACL.PolicyDelete": always,
  "ACL.RoleSet": always,
  "ACL.RoleDelete": always,
  "ACL.TokenSet": (s, a) => {
    let b: Record<string, unknown>;
    let local: boolean;
    let accessor: string;
    try {
      b = folded(a.Token, "Token");
      local = bool(b, "Local", "Token");
      accessor = str(b, "AccessorID", "Token") || (a.Create ? "" : (a.AccessorID ?? ""));
    } catch {
      return false; // a malformed body is refused here, with the same text
    }
    if (accessor !== "" && s.state.t.aclTokens.has(accessor)) return heldGlobal(s, accessor);
    return !local;
  },
  "ACL.TokenClone": (s, a) => heldGlobal(s, a.AccessorID),
  "ACL.TokenDelete": (s, a) => heldGlobal(s, a.TokenID),
  "ACL.TokenRead": (s, a) => (a.Self ? aclTokenBySecret(s.state.t, a.TokenID) === undefined && a.TokenID !== "" : !s.state.t.aclTokens.has(a.TokenID)),
};
