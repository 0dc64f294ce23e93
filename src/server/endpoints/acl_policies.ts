/** ACL.Policy* endpoints: create, update, read, list and delete policies (the two builtin ones stay as they are). */
import { parseRules, RulesError } from "../../acl/mod.ts";
import { GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_READ_ONLY_POLICY_ID } from "../../acl/identities.ts";
import { BadRequestError, NotFoundError } from "../../rpc/errors.ts";
import type { QueryReply, RequestOptions, MaybePromise } from "../../rpc/types.ts";
import { ACL_TOPIC, aclIndex, aclPolicyByName } from "../../state/mod.ts";
import type { ACLPolicy, ACLPolicyRow } from "../../structs/acl.ts";
import type { Server } from "../server.ts";
import { blockingRead } from "./read.ts";
import { hash, NAME, need, write } from "./acl_common.ts";
import { folded, str, strings, updatedId } from "./acl_input.ts";

function presentPolicy(p: ACLPolicyRow): ACLPolicy {
  const { Parsed: _parsed, ...wire } = p;
  return wire;
}

export async function policySet(s: Server, a: { readonly Policy: unknown; readonly Create: boolean; readonly ID?: string }, o: RequestOptions): Promise<ACLPolicy> {
  need(s, o, "write");
  const what = "Policy";
  const b = folded(a.Policy, what);
  const t = s.state.t;
  let id = str(b, "ID", what);
  if (a.Create && id !== "") throw new BadRequestError("Cannot specify the ID when creating a new policy");
  if (!a.Create) id = updatedId(id, a.ID, what);
  const name = str(b, "Name", what);
  if (name === "") throw new BadRequestError("Invalid Policy: no Name is set");
  if (!NAME.test(name)) throw new BadRequestError("Invalid Policy: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const existing = id ? t.aclPolicies.get(id) : undefined;
  if (!a.Create && !existing) throw new NotFoundError(`Cannot find policy ${id}`);
  const rulesText = str(b, "Rules", what);
  if (existing?.ID === GLOBAL_MANAGEMENT_POLICY_ID || existing?.ID === GLOBAL_READ_ONLY_POLICY_ID) {
    if (rulesText !== existing.Rules) throw new BadRequestError(`Changing the Rules for the builtin ${existing.Name} policy is not permitted`);
    if (name !== existing.Name) throw new BadRequestError(`Changing the Name for the builtin ${existing.Name} policy is not permitted`);
  }
  const named = aclPolicyByName(t, name);
  if (named && named.ID !== id) throw new BadRequestError(`Invalid Policy: A Policy with Name "${name}" already exists`);
  let parsed;
  try {
    parsed = await parseRules(rulesText);
  } catch (err) {
    if (err instanceof RulesError) throw new BadRequestError(`Failed to parse policy: ${err.message}`);
    throw err;
  }
  id ||= crypto.randomUUID();
  const datacenters = strings(b, "Datacenters", what);
  const description = str(b, "Description", what);
  const row = { ID: id, Name: name, Description: description, Rules: rulesText, Datacenters: datacenters, Parsed: parsed, Hash: await hash([name, description, rulesText, datacenters]) };
  await write(s, { Op: "policy-set", Policies: [row] });
  return presentPolicy(s.state.t.aclPolicies.get(id)!);
}

export function policyRead(s: Server, a: { readonly PolicyID: string; readonly PolicyName: string }, o: RequestOptions): MaybePromise<QueryReply<ACLPolicy | null>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const t = s.state.t;
    const p = a.PolicyID ? t.aclPolicies.get(a.PolicyID) : aclPolicyByName(t, a.PolicyName);
    return { index: aclIndex(t), value: p ? presentPolicy(p) : null };
  });
}

export function policyList(s: Server, _a: unknown, o: RequestOptions): MaybePromise<QueryReply<Omit<ACLPolicy, "Rules">[]>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const t = s.state.t;
    const out = [...t.aclPolicies.values()]
      .map(({ Parsed: _p, Rules: _r, ...stub }) => stub)
      .sort((x, y) => (x.Name < y.Name ? -1 : x.Name > y.Name ? 1 : 0));
    return { index: aclIndex(t), value: out };
  });
}

export async function policyDelete(s: Server, a: { readonly PolicyID: string }, o: RequestOptions): Promise<string> {
  need(s, o, "write");
  if (a.PolicyID === GLOBAL_MANAGEMENT_POLICY_ID) throw new BadRequestError("Delete operation not permitted on the builtin global-management policy");
  if (a.PolicyID === GLOBAL_READ_ONLY_POLICY_ID) throw new BadRequestError("Delete operation not permitted on the builtin global-read-only policy");
  if (!s.state.t.aclPolicies.has(a.PolicyID)) throw new NotFoundError("Cannot find policy to delete");
  await write(s, { Op: "policy-delete", IDs: [a.PolicyID] });
  return a.PolicyID;
}
