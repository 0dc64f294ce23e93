/**
 * ACL.* endpoints (Consul's agent/consul/acl_endpoint.go): bootstrap, tokens,
 * policies and roles. Each checks acl:read or acl:write itself (token self-read
 * and bootstrap need neither), as Consul's do. Tokens, policies and roles are
 * in acl_tokens.ts, acl_policies.ts and acl_roles.ts; the checks they share in
 * acl_common.ts.
 */
import { ACLDisabledError, PermissionDeniedError } from "../../acl/mod.ts";
import { GLOBAL_MANAGEMENT_POLICY_ID } from "../../acl/identities.ts";
import { BadRequestError } from "../../rpc/errors.ts";
import type { QueryReply, RequestOptions, MaybePromise } from "../../rpc/types.ts";
import { ACL_TOPIC } from "../../state/mod.ts";
import type { ACLToken } from "../../structs/acl.ts";
import { tokenBody, type ResolvedToken } from "../acl.ts";
import type { Server } from "../server.ts";
import { type ACLReplicationData, type ACLReplicationStatus, replicationData } from "../acl_replication.ts";
import { blockingRead } from "./read.ts";
import { hash, need, write } from "./acl_common.ts";
import { readFile, rm } from "node:fs/promises";

export { tokenClone, tokenDelete, tokenList, tokenRead, tokenSet } from "./acl_tokens.ts";
export { policyDelete, policyList, policyRead, policySet } from "./acl_policies.ts";
export { roleDelete, roleList, roleRead, roleSet } from "./acl_roles.ts";

export async function bootstrap(s: Server): Promise<ACLToken & { ID: string }> {
  if (!s.acl.enabled) throw new ACLDisabledError();
  const done = s.state.t.aclMeta.get("bootstrap") ?? 0;
  let resetIndex = 0;
  const resetPath = s.acl.settings.bootstrapResetPath;
  if (done > 0 && resetPath) {
    const text = await readFile(resetPath, "utf8").catch(() => null);
    if (text !== null) {
      const n = Number(text.trim());
      if (!/^\d+$/.test(text.trim())) throw new BadRequestError(`failed to parse ${resetPath}: not an index`);
      resetIndex = n;
    }
  }
  if (done > 0 && resetIndex !== done) throw PermissionDeniedError.because(`ACL bootstrap no longer allowed (reset index: ${done})`);
  const now = s.clock.now();
  const token = tokenBody(
    {
      AccessorID: crypto.randomUUID(),
      SecretID: crypto.randomUUID(),
      Description: "Bootstrap Token (Global Management)",
      Policies: [{ ID: GLOBAL_MANAGEMENT_POLICY_ID, Name: "global-management" }],
    },
    now,
  );
  const body = { ...token, Hash: await hash([token.Policies, token.Description]) };
  try {
    await write(s, { Op: "bootstrap", Token: body, ResetIndex: resetIndex });
  } catch (err) {
    if ((err as Error).message.includes("ACL bootstrap no longer allowed")) throw PermissionDeniedError.because((err as Error).message);
    throw err;
  }
  if (resetIndex > 0 && resetPath) await rm(resetPath, { force: true });
  const stored = s.state.t.aclTokens.get(body.AccessorID)!;
  return { ID: stored.SecretID, ...stored };
}

/** A secondary's replicator reads the primary's policies, roles and (with acl:write) global tokens. */
export function replicationRead(s: Server, a: { readonly Tokens: boolean }, o: RequestOptions): MaybePromise<QueryReply<ACLReplicationData>> {
  need(s, o, a.Tokens ? "write" : "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => replicationData(s, a.Tokens));
}

/** `/v1/acl/replication`: needs no permission (as in Consul). */
export function replicationStatus(s: Server): ACLReplicationStatus {
  if (!s.acl.enabled) throw new ACLDisabledError();
  const own = s.acl.replication?.();
  if (own) return own;
  return {
    Enabled: false,
    Running: false,
    SourceDatacenter: "",
    ReplicationType: "",
    ReplicatedIndex: 0,
    ReplicatedRoleIndex: 0,
    ReplicatedTokenIndex: 0,
    LastSuccess: "0001-01-01T00:00:00Z",
    LastError: "0001-01-01T00:00:00Z",
    LastErrorMessage: "",
  };
}

/** The identity and rules behind the caller's token, for a client agent's resolver. */
export function resolveToken(s: Server, _a: unknown, o: RequestOptions): ResolvedToken {
  if (!s.acl.enabled) throw new ACLDisabledError();
  return s.acl.resolve(o.token ?? "");
}
