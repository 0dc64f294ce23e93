/** ACL.Role* endpoints: create, update, read, list and delete roles. */
import { BadRequestError, NotFoundError } from "../../rpc/errors.ts";
import type { QueryReply, RequestOptions, MaybePromise } from "../../rpc/types.ts";
import { ACL_TOPIC, aclIndex, aclRoleByName } from "../../state/mod.ts";
import type { ACLRole } from "../../structs/acl.ts";
import type { Server } from "../server.ts";
import { blockingRead } from "./read.ts";
import { fixLinks, hash, NAME, need, policyLinks, write } from "./acl_common.ts";
import { folded, links, nodeIdentities, serviceIdentities, str, updatedId } from "./acl_input.ts";

function presentRole(s: Server, r: ACLRole): ACLRole {
  return { ...r, Policies: fixLinks(r.Policies, (id) => s.state.t.aclPolicies.get(id)) };
}

export async function roleSet(s: Server, a: { readonly Role: unknown; readonly Create: boolean; readonly ID?: string }, o: RequestOptions): Promise<ACLRole> {
  need(s, o, "write");
  const what = "Role";
  const b = folded(a.Role, what);
  const t = s.state.t;
  let id = str(b, "ID", what);
  if (a.Create && id !== "") throw new BadRequestError("Cannot specify the ID when creating a new role");
  if (!a.Create) {
    id = updatedId(id, a.ID, what);
    if (!t.aclRoles.has(id)) throw new NotFoundError(`Cannot find role ${id}`);
  }
  const name = str(b, "Name", what);
  if (name === "") throw new BadRequestError("Invalid Role: no Name is set");
  if (!NAME.test(name)) throw new BadRequestError("Invalid Role: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const named = aclRoleByName(t, name);
  if (named && named.ID !== id) throw new BadRequestError(`Invalid Role: A Role with Name "${name}" already exists`);
  id ||= crypto.randomUUID();
  const role = {
    ID: id,
    Name: name,
    Description: str(b, "Description", what),
    Policies: policyLinks(s, links(b, "Policies", what)),
    ServiceIdentities: serviceIdentities(b, what),
    NodeIdentities: nodeIdentities(b, what),
  };
  await write(s, { Op: "role-set", Roles: [{ ...role, Hash: await hash(role) }] });
  return presentRole(s, s.state.t.aclRoles.get(id)!);
}

export function roleRead(s: Server, a: { readonly RoleID: string; readonly RoleName: string }, o: RequestOptions): MaybePromise<QueryReply<ACLRole | null>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const t = s.state.t;
    const r = a.RoleID ? t.aclRoles.get(a.RoleID) : aclRoleByName(t, a.RoleName);
    return { index: aclIndex(t), value: r ? presentRole(s, r) : null };
  });
}

export function roleList(s: Server, a: { readonly Policy: string }, o: RequestOptions): MaybePromise<QueryReply<ACLRole[]>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const t = s.state.t;
    const out = [...t.aclRoles.values()]
      .filter((r) => !a.Policy || r.Policies.some((p) => p.ID === a.Policy))
      .map((r) => presentRole(s, r))
      .sort((x, y) => (x.Name < y.Name ? -1 : x.Name > y.Name ? 1 : 0));
    return { index: aclIndex(t), value: out };
  });
}

export async function roleDelete(s: Server, a: { readonly RoleID: string }, o: RequestOptions): Promise<string> {
  need(s, o, "write");
  if (!s.state.t.aclRoles.has(a.RoleID)) throw new NotFoundError("Cannot find role to delete");
  await write(s, { Op: "role-delete", IDs: [a.RoleID] });
  return a.RoleID;
}
