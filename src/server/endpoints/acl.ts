/**
 * ACL.* endpoints (Consul's agent/consul/acl_endpoint.go): bootstrap, tokens,
 * policies and roles. Each checks acl:read or acl:write itself (token self-read
 * and bootstrap need neither), as Consul's do.
 */
import { ACLDisabledError, ACLNotFoundError, ANONYMOUS_TOKEN_ID, type Authorizer, type Level, PermissionDeniedError, parseRules, RulesError } from "../../acl/mod.ts";
import { GLOBAL_MANAGEMENT_POLICY_ID, GLOBAL_READ_ONLY_POLICY_ID } from "../../acl/identities.ts";
import { BadRequestError, NotFoundError } from "../../rpc/errors.ts";
import type { QueryReply, RequestOptions, MaybePromise } from "../../rpc/types.ts";
import { ACL_OP_TYPE, ACL_TOPIC, type ACLCommandBody, aclIndex, aclPolicyByName, aclRoleByName, aclTokenBySecret, type ACLTokenBody } from "../../state/mod.ts";
import type { ACLLink, ACLPolicy, ACLPolicyRow, ACLRole, ACLToken } from "../../structs/acl.ts";
import { parseGoDuration } from "../../structs/duration.ts";
import { rfc3339, tokenBody, type ResolvedToken } from "../acl.ts";
import type { Server } from "../server.ts";
import { type ACLReplicationData, type ACLReplicationStatus, replicationData } from "../acl_replication.ts";
import { blockingRead } from "./read.ts";
import { bool, folded, isUuid, links, nodeIdentities, resolveLinks, serviceIdentities, str, strings } from "./acl_input.ts";
import { readFile, rm } from "node:fs/promises";

const REDACTED = "<hidden>";
const RESERVED_PREFIX = "00000000-0000-0000-0000-0000000000";
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 24 * 3600_000;
const NAME = /^[A-Za-z0-9\-_]{1,128}$/;

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
function fixLinks(links: readonly ACLLink[], lookup: (id: string) => { Name: string } | undefined): ACLLink[] {
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

function presentPolicy(p: ACLPolicyRow): ACLPolicy {
  const { Parsed: _parsed, ...wire } = p;
  return wire;
}

function presentRole(s: Server, r: ACLRole): ACLRole {
  return { ...r, Policies: fixLinks(r.Policies, (id) => s.state.t.aclPolicies.get(id)) };
}

function policyLinks(s: Server, given: { ID: string; Name: string }[]): ACLLink[] {
  const t = s.state.t;
  return resolveLinks(given, (id) => t.aclPolicies.get(id), (n) => aclPolicyByName(t, n), "policy");
}

function expired(t: ACLToken, now: number): boolean {
  return t.ExpirationTime !== undefined && Date.parse(t.ExpirationTime) <= now;
}

// ---- bootstrap ----

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

// ---- tokens ----

export interface TokenSetArgs {
  readonly Token: unknown;
  /** PUT /v1/acl/token (true) or PUT /v1/acl/token/:id (false, AccessorID required). */
  readonly Create: boolean;
  readonly AccessorID?: string;
}

function ttlOf(v: unknown): number | null {
  if (v === undefined || v === null || v === 0 || v === "") return null;
  if (typeof v === "number") return v / 1e6; // Go's time.Duration: nanoseconds
  if (typeof v === "string") {
    const ms = parseGoDuration(v);
    if (ms === null) throw new BadRequestError(`Token decoding failed: invalid ExpirationTTL "${v}"`);
    return ms;
  }
  throw new BadRequestError("Token decoding failed: ExpirationTTL must be a duration");
}

export async function tokenSet(s: Server, a: TokenSetArgs, o: RequestOptions): Promise<ACLToken> {
  const caller = need(s, o, "write");
  const what = "Token";
  const b = folded(a.Token, what);
  const t = s.state.t;
  let accessor = str(b, "AccessorID", what);
  if (!a.Create) accessor ||= a.AccessorID ?? "";
  if (!a.Create && a.AccessorID !== undefined && accessor !== a.AccessorID) throw new BadRequestError("Token Accessor ID in URL and payload do not match");
  let secret = str(b, "SecretID", what);
  const now = s.clock.now();
  const existing = accessor ? t.aclTokens.get(accessor) : undefined;
  const ttl = ttlOf(b["expirationttl"]);
  const expTime = str(b, "ExpirationTime", what);
  let expiration: string | undefined;
  if (a.Create) {
    if (accessor) {
      if (!isUuid(accessor)) throw new BadRequestError("Invalid Token: AccessorID is not a valid UUID");
      if (accessor.startsWith(RESERVED_PREFIX)) throw new BadRequestError(`Invalid Token: UUIDs with the prefix "${RESERVED_PREFIX}" are reserved`);
      if (existing) throw new BadRequestError("Invalid Token: AccessorID is already in use");
    } else accessor = crypto.randomUUID();
    if (secret) {
      if (!isUuid(secret)) throw new BadRequestError("Invalid Token: SecretID is not a valid UUID");
      if (secret.startsWith(RESERVED_PREFIX)) throw new BadRequestError(`Invalid Token: UUIDs with the prefix "${RESERVED_PREFIX}" are reserved`);
      if (aclTokenBySecret(t, secret)) throw new BadRequestError("Invalid Token: SecretID is already in use");
    } else secret = crypto.randomUUID();
    if (ttl !== null && expTime !== "") throw new BadRequestError("Expiration TTL and Expiration Time cannot both be set");
    if (ttl !== null) {
      if (ttl < MIN_TTL_MS || ttl > MAX_TTL_MS) throw new BadRequestError(`Token Expiration TTL '${ttl / 1000}s' should be between 1m0s and 24h0m0s`);
      expiration = rfc3339(now + ttl);
    } else if (expTime !== "") {
      const at = Date.parse(expTime);
      if (Number.isNaN(at)) throw new BadRequestError(`Token decoding failed: invalid ExpirationTime "${expTime}"`);
      if (at < now) throw new BadRequestError("ExpirationTime cannot be in the past");
      if (at - now < MIN_TTL_MS || at - now > MAX_TTL_MS) throw new BadRequestError("ExpirationTime should be between 1m0s and 24h0m0s in the future");
      expiration = rfc3339(at);
    }
  } else {
    if (!accessor) throw new BadRequestError("Missing token AccessorID");
    if (!isUuid(accessor)) throw new BadRequestError("Invalid Token: AccessorID is not a valid UUID");
    if (!existing) throw new NotFoundError(`Cannot find token "${accessor}"`);
    if (secret && secret !== existing.SecretID) throw new BadRequestError("Changing a tokens SecretID is not permitted");
    secret = existing.SecretID;
    if (b["local"] !== undefined && bool(b, "Local", what) !== existing.Local) throw new BadRequestError(`Cannot toggle local mode of ${accessor}`);
    if (ttl !== null || (expTime !== "" && expTime !== existing.ExpirationTime)) throw new BadRequestError(`Cannot change expiration time of ${accessor}`);
    expiration = existing.ExpirationTime;
  }
  const roleLinks = links(b, "Roles", what);
  const body: ACLTokenBody = tokenBody(
    {
      AccessorID: accessor,
      SecretID: secret,
      Description: str(b, "Description", what),
      Policies: policyLinks(s, links(b, "Policies", what)),
      Roles: resolveLinks(roleLinks, (id) => t.aclRoles.get(id), (n) => aclRoleByName(t, n), "role"),
      ServiceIdentities: serviceIdentities(b, what),
      NodeIdentities: nodeIdentities(b, what),
      Local: existing ? existing.Local : bool(b, "Local", what),
      ...(expiration ? { ExpirationTime: expiration } : {}),
      CreateTime: existing?.CreateTime ?? rfc3339(now),
    },
    now,
  );
  const withHash = { ...body, Hash: await hash([body.Description, body.Policies, body.Roles, body.ServiceIdentities, body.NodeIdentities, body.Local]) };
  await write(s, { Op: "token-set", Tokens: [withHash] });
  return present(s, s.state.t.aclTokens.get(accessor)!, caller.allowed("acl", "write"));
}

export async function tokenClone(s: Server, a: { readonly AccessorID: string; readonly Description: string }, o: RequestOptions): Promise<ACLToken> {
  need(s, o, "write");
  const from = s.state.t.aclTokens.get(a.AccessorID);
  if (!from) throw new NotFoundError("Requested token does not exist: ACL not found");
  if (from.AccessorID === ANONYMOUS_TOKEN_ID) throw new BadRequestError("Cannot clone the anonymous token");
  const token = {
    Description: a.Description !== "" ? a.Description : from.Description,
    Policies: from.Policies,
    Roles: from.Roles,
    ServiceIdentities: from.ServiceIdentities,
    NodeIdentities: from.NodeIdentities,
    Local: from.Local,
    ...(from.ExpirationTime ? { ExpirationTime: from.ExpirationTime } : {}),
  };
  return tokenSet(s, { Token: token, Create: true }, o);
}

export function tokenRead(s: Server, a: { readonly TokenID: string; readonly Self: boolean }, o: RequestOptions): MaybePromise<QueryReply<ACLToken | null>> {
  const caller = a.Self ? authz(s, o) : need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const t = s.state.t;
    const found = a.Self ? aclTokenBySecret(t, a.TokenID || "anonymous") : t.aclTokens.get(a.TokenID);
    // An expired token reads as missing at once, before the reaper deletes it (Consul's IsExpired checks).
    const token = found && !expired(found, s.clock.now()) ? found : undefined;
    if (a.Self && !token) throw new ACLNotFoundError();
    return { index: aclIndex(t), value: token ? present(s, token, a.Self || caller.allowed("acl", "write")) : null };
  });
}

export async function tokenDelete(s: Server, a: { readonly TokenID: string }, o: RequestOptions): Promise<string> {
  need(s, o, "write");
  if (a.TokenID === ANONYMOUS_TOKEN_ID) throw new BadRequestError("Delete operation not permitted on the anonymous token");
  const token = s.state.t.aclTokens.get(a.TokenID);
  if (!token) throw new NotFoundError("Cannot find token to delete");
  if (token.SecretID === (o.token ?? "")) throw new BadRequestError("Deletion of the request's authorization token is not permitted");
  await write(s, { Op: "token-delete", AccessorIDs: [a.TokenID] });
  return a.TokenID;
}

export interface TokenListArgs {
  readonly Policy: string;
  readonly Role: string;
  readonly ServiceName: string;
  readonly AuthMethod: string;
}

export function tokenList(s: Server, a: TokenListArgs, o: RequestOptions): MaybePromise<QueryReply<ACLToken[]>> {
  const caller = need(s, o, "read");
  const canWrite = caller.allowed("acl", "write");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const t = s.state.t;
    const out: ACLToken[] = [];
    const now = s.clock.now();
    for (const token of t.aclTokens.values()) {
      if (expired(token, now)) continue;
      if (a.Policy && !token.Policies.some((p) => p.ID === a.Policy)) continue;
      if (a.Role && !token.Roles.some((r) => r.ID === a.Role)) continue;
      if (a.ServiceName && !token.ServiceIdentities.some((si) => si.ServiceName === a.ServiceName)) continue;
      if (a.AuthMethod && token.AuthMethod !== a.AuthMethod) continue;
      out.push(present(s, token, canWrite));
    }
    out.sort((x, y) => x.CreateIndex - y.CreateIndex || (x.AccessorID < y.AccessorID ? -1 : 1));
    return { index: aclIndex(t), value: out };
  });
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

// ---- policies ----

export async function policySet(s: Server, a: { readonly Policy: unknown; readonly Create: boolean; readonly ID?: string }, o: RequestOptions): Promise<ACLPolicy> {
  need(s, o, "write");
  const what = "Policy";
  const b = folded(a.Policy, what);
  const t = s.state.t;
  let id = str(b, "ID", what);
  if (a.Create && id !== "") throw new BadRequestError("Cannot specify the ID when creating a new policy");
  if (!a.Create) {
    if (id !== "" && a.ID !== undefined && id !== a.ID) throw new BadRequestError("Policy ID in URL and payload do not match");
    id ||= a.ID ?? "";
  }
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

// ---- roles ----

export async function roleSet(s: Server, a: { readonly Role: unknown; readonly Create: boolean; readonly ID?: string }, o: RequestOptions): Promise<ACLRole> {
  need(s, o, "write");
  const what = "Role";
  const b = folded(a.Role, what);
  const t = s.state.t;
  let id = str(b, "ID", what);
  if (a.Create && id !== "") throw new BadRequestError("Cannot specify the ID when creating a new role");
  if (!a.Create) {
    if (id !== "" && a.ID !== undefined && id !== a.ID) throw new BadRequestError("Role ID in URL and payload do not match");
    id ||= a.ID ?? "";
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
