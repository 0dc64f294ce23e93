/** ACL.Token* endpoints: create, update, clone, read, delete and list tokens. */
import { ACLNotFoundError, ANONYMOUS_TOKEN_ID } from "../../acl/mod.ts";
import { BadRequestError, NotFoundError } from "../../rpc/errors.ts";
import type { QueryReply, RequestOptions, MaybePromise } from "../../rpc/types.ts";
import { ACL_TOPIC, aclIndex, aclRoleByName, aclTokenBySecret, type ACLTokenBody } from "../../state/mod.ts";
import type { ACLToken } from "../../structs/acl.ts";
import { parseGoDuration } from "../../structs/duration.ts";
import { rfc3339, tokenBody } from "../acl.ts";
import type { Server } from "../server.ts";
import { blockingRead } from "./read.ts";
import { authz, expired, hash, need, policyLinks, present, write } from "./acl_common.ts";
import { bool, folded, isUuid, links, nodeIdentities, resolveLinks, serviceIdentities, str } from "./acl_input.ts";

const RESERVED_PREFIX = "00000000-0000-0000-0000-0000000000";
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 24 * 3600_000;

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
