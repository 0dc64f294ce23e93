/**
 * What the ACL endpoints share: the acl:read / acl:write checks, writing an
 * ACL command, the objects' hash, and tokens and links as they are read back.
 */
import { ACLDisabledError, type Authorizer, type Level, PermissionDeniedError } from "../../acl/mod.ts";
import type { RequestOptions } from "../../rpc/types.ts";
import { ACL_OP_TYPE, type ACLCommandBody, aclPolicyByName } from "../../state/mod.ts";
import type { ACLLink, ACLToken } from "../../structs/acl.ts";
import type { Server } from "../server.ts";
import { resolveLinks } from "./acl_input.ts";

const REDACTED = "<hidden>";
/** What a policy or role may be named. */
export const NAME = /^[A-Za-z0-9\-_]{1,128}$/;

export function authz(s: Server, o: RequestOptions): Authorizer {
  if (!s.acl.enabled) throw new ACLDisabledError();
  return s.acl.authorizer(o.token);
}

export function need(s: Server, o: RequestOptions, level: Level): Authorizer {
  const a = authz(s, o);
  if (!a.allowed("acl", level)) throw new PermissionDeniedError(a.accessorId, "acl", level);
  return a;
}

export async function write(s: Server, body: ACLCommandBody): Promise<void> {
  await s.mustWrite({ Type: ACL_OP_TYPE[body.Op], Now: s.clock.now(), ...body } as never);
}

export async function hash(fields: unknown): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(JSON.stringify(fields)));
  let bin = "";
  for (const b of new Uint8Array(digest)) bin += String.fromCharCode(b);
  return btoa(bin);
}

/** Link names follow the objects' current names; links to deleted objects drop out (Consul's fix-up on read). */
export function fixLinks(links: readonly ACLLink[], lookup: (id: string) => { Name: string } | undefined): ACLLink[] {
  const out: ACLLink[] = [];
  for (const l of links) {
    const found = lookup(l.ID);
    if (found) out.push({ ID: l.ID, Name: found.Name });
  }
  return out;
}

export function present(s: Server, t: ACLToken, canWrite: boolean): ACLToken {
  const tables = s.state.t;
  return {
    ...t,
    SecretID: canWrite ? t.SecretID : REDACTED,
    Policies: fixLinks(t.Policies, (id) => tables.aclPolicies.get(id)),
    Roles: fixLinks(t.Roles, (id) => tables.aclRoles.get(id)),
  };
}

export function policyLinks(s: Server, given: { ID: string; Name: string }[]): ACLLink[] {
  const t = s.state.t;
  return resolveLinks(given, (id) => t.aclPolicies.get(id), (n) => aclPolicyByName(t, n), "policy");
}

export function expired(t: ACLToken, now: number): boolean {
  return t.ExpirationTime !== undefined && Date.parse(t.ExpirationTime) <= now;
}
