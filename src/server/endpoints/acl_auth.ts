/**
 * Auth methods, binding rules, login and logout (Consul's ACL.AuthMethod*,
 * ACL.BindingRule*, ACL.Login, ACL.Logout): a `jwt` method verifies a bearer
 * token into an identity; each of the method's binding rules whose Selector
 * matches adds a service or node identity, a role or a policy named by its
 * interpolated BindName; login makes a token of those (local unless the
 * method's TokenLocality is global, expiring after MaxTokenTTL), logout
 * deletes a token login made.
 */
import { ACLNotFoundError, PermissionDeniedError } from "../../acl/mod.ts";
import {
  AUTH_METHOD_TYPES,
  AuthMethodConfigError,
  interpolate,
  JwksCache,
  type JwtConfig,
  parseJwtConfig,
  projectedVarNames,
  projectedVars,
  selectorMatches,
  selectorProblem,
  validateLogin,
} from "../../acl/auth_method.ts";
import { JwtError } from "../../acl/jwt.ts";
import { BadRequestError, NotFoundError } from "../../rpc/errors.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { ACL_TOPIC, aclIndex, aclPolicyByName, aclRoleByName, aclTokenBySecret } from "../../state/mod.ts";
import { type ACLAuthMethod, type ACLBindingRule, type ACLLink, type ACLNodeIdentity, type ACLServiceIdentity, type ACLToken, BIND_TYPES, type BindType } from "../../structs/acl.ts";
import { formatGoDuration, durationFromJson } from "../../structs/duration.ts";
import { rfc3339, tokenBody } from "../acl.ts";
import type { Server } from "../server.ts";
import { authz, hash, need, present, write } from "./acl_common.ts";
import { folded, isUuid, str, updatedId } from "./acl_input.ts";
import { blockingRead } from "./read.ts";

const NAME = /^[A-Za-z0-9\-_]{1,128}$/;
const MIN_TTL_MS = 60_000;
const MAX_TTL_MS = 24 * 3600_000;
const SERVICE_NAME = /^[a-z0-9]([a-z0-9\-_]*[a-z0-9])?$/;
const ROLE_NAME = /^[A-Za-z0-9\-_]{1,256}$/;
const MAX_META = 64;

export type AuthMethodStub = Omit<ACLAuthMethod, "Config">;

const jwks = new JwksCache();
/** Parsed configs by method, kept while the method's ModifyIndex stands. */
const configs = new WeakMap<Server, Map<string, { index: number; cfg: JwtConfig }>>();

function configOf(s: Server, m: ACLAuthMethod): JwtConfig {
  let byName = configs.get(s);
  if (!byName) configs.set(s, (byName = new Map()));
  const hit = byName.get(m.Name);
  if (hit && hit.index === m.ModifyIndex) return hit.cfg;
  const cfg = parseJwtConfig(m.Config);
  byName.set(m.Name, { index: m.ModifyIndex, cfg });
  return cfg;
}

function isPrimary(s: Server): boolean {
  return s.acl.isPrimary();
}

// ---- auth methods ----

export async function authMethodSet(s: Server, a: { readonly AuthMethod: unknown; readonly Create: boolean; readonly Name?: string }, o: RequestOptions): Promise<ACLAuthMethod> {
  need(s, o, "write");
  const what = "AuthMethod";
  const b = folded(a.AuthMethod, what);
  let name = str(b, "Name", what);
  if (!a.Create && a.Name !== undefined) {
    if (name !== "" && name !== a.Name) throw new BadRequestError("AuthMethod name in URL and payload do not match");
    name ||= a.Name;
  }
  if (name === "") throw new BadRequestError("Invalid Auth Method: no Name is set");
  if (!NAME.test(name)) throw new BadRequestError("Invalid Auth Method: invalid Name. Only alphanumeric characters, '-' and '_' are allowed");
  const existing = s.state.t.aclAuthMethods.get(name);
  let type = str(b, "Type", what);
  if (existing) {
    if (type === "") type = existing.Type;
    else if (type !== existing.Type) throw new BadRequestError("the Type field of an Auth Method is immutable");
  }
  if (!(AUTH_METHOD_TYPES as readonly string[]).includes(type)) throw new BadRequestError(`Invalid Auth Method: Type should be one of: [${AUTH_METHOD_TYPES.join(" ")}]`);
  const ttlRaw = b["maxtokenttl"];
  let ttlMs = 0;
  if (ttlRaw !== undefined && ttlRaw !== null && ttlRaw !== "" && ttlRaw !== 0) {
    const ms = durationFromJson(ttlRaw);
    if (ms === null || ms < 0) throw new BadRequestError("AuthMethod decoding failed: MaxTokenTTL must be a duration");
    ttlMs = ms;
  }
  if (ttlMs !== 0 && ttlMs > MAX_TTL_MS) throw new BadRequestError(`MaxTokenTTL ${formatGoDuration(ttlMs)} cannot be more than ${formatGoDuration(MAX_TTL_MS)}`);
  if (ttlMs !== 0 && ttlMs < MIN_TTL_MS) throw new BadRequestError(`MaxTokenTTL ${formatGoDuration(ttlMs)} cannot be less than ${formatGoDuration(MIN_TTL_MS)}`);
  const locality = str(b, "TokenLocality", what);
  if (locality !== "" && locality !== "local" && locality !== "global") throw new BadRequestError("Invalid Auth Method: TokenLocality should be one of 'local' or 'global'");
  if (locality === "global" && !isPrimary(s)) throw new BadRequestError("Invalid Auth Method: TokenLocality 'global' can only be used in the primary datacenter");
  const config = b["config"] ?? {};
  try {
    parseJwtConfig(config);
  } catch (err) {
    if (err instanceof AuthMethodConfigError) throw new BadRequestError(`Invalid Auth Method: ${err.message}`);
    throw err;
  }
  const body = {
    Name: name,
    Type: type,
    DisplayName: str(b, "DisplayName", what),
    Description: str(b, "Description", what),
    MaxTokenTTL: ttlMs === 0 ? "" : formatGoDuration(ttlMs),
    TokenLocality: locality,
    Config: config as Record<string, unknown>,
  };
  await write(s, { Op: "auth-method-set", AuthMethods: [body] });
  return present_(s.state.t.aclAuthMethods.get(name)!);
}

/** MaxTokenTTL and TokenLocality are left out when unset, as Consul's omitempty does. */
function present_(m: ACLAuthMethod): ACLAuthMethod {
  const out: Record<string, unknown> = { ...m };
  if (m.MaxTokenTTL === "") delete out["MaxTokenTTL"];
  if (m.TokenLocality === "") delete out["TokenLocality"];
  if (m.DisplayName === "") delete out["DisplayName"];
  return out as unknown as ACLAuthMethod;
}

export function authMethodRead(s: Server, a: { readonly AuthMethodName: string }, o: RequestOptions): MaybePromise<QueryReply<ACLAuthMethod | null>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const m = s.state.t.aclAuthMethods.get(a.AuthMethodName);
    return { index: aclIndex(s.state.t), value: m ? present_(m) : null };
  });
}

export function authMethodList(s: Server, _a: unknown, o: RequestOptions): MaybePromise<QueryReply<AuthMethodStub[]>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const out = [...s.state.t.aclAuthMethods.values()]
      .map(({ Config: _c, ...stub }) => present_(stub as ACLAuthMethod) as AuthMethodStub)
      .sort((x, y) => (x.Name < y.Name ? -1 : x.Name > y.Name ? 1 : 0));
    return { index: aclIndex(s.state.t), value: out };
  });
}

export async function authMethodDelete(s: Server, a: { readonly AuthMethodName: string }, o: RequestOptions): Promise<boolean> {
  need(s, o, "write");
  if (!s.state.t.aclAuthMethods.has(a.AuthMethodName)) return true;
  await write(s, { Op: "auth-method-delete", Names: [a.AuthMethodName] });
  return true;
}

// ---- binding rules ----

function validateBindName(type: BindType, bindName: string, varNames: readonly string[]): void {
  const fake: Record<string, string> = {};
  for (const v of varNames) fake[v] = "fake";
  computeBindName(type, bindName, fake);
}

function computeBindName(type: BindType, bindName: string, vars: Readonly<Record<string, string>>): string {
  let computed: string;
  try {
    computed = interpolate(bindName, vars);
  } catch (err) {
    throw new BadRequestError(`Invalid Binding Rule: invalid BindName: failed to validate bindType "${type}": error interpreting template: ${(err as Error).message}`);
  }
  const valid = type === "service" || type === "node" ? SERVICE_NAME.test(computed) : type === "role" ? ROLE_NAME.test(computed) : NAME.test(computed);
  if (!valid) throw new BadRequestError(`Invalid Binding Rule: invalid BindName: failed to validate bindType "${type}": invalid bind name: "${computed}"`);
  return computed;
}

export async function bindingRuleSet(s: Server, a: { readonly BindingRule: unknown; readonly Create: boolean; readonly ID?: string }, o: RequestOptions): Promise<ACLBindingRule> {
  need(s, o, "write");
  const what = "BindingRule";
  const b = folded(a.BindingRule, what);
  const t = s.state.t;
  let id = str(b, "ID", what);
  let existing: ACLBindingRule | undefined;
  if (!a.Create) id = updatedId(id, a.ID, what);
  if (id === "") {
    if (!a.Create) throw new BadRequestError("Binding Rule ID invalid UUID");
    id = crypto.randomUUID();
  } else {
    if (!isUuid(id)) throw new BadRequestError("Binding Rule ID invalid UUID");
    existing = t.aclBindingRules.get(id);
    if (!existing) throw new NotFoundError(`cannot find binding rule ${id}`);
  }
  let method = str(b, "AuthMethod", what);
  if (existing) {
    if (method === "") method = existing.AuthMethod;
    else if (method !== existing.AuthMethod) throw new BadRequestError("the AuthMethod field of an Binding Rule is immutable");
  }
  if (method === "") throw new BadRequestError("Invalid Binding Rule: no AuthMethod is set");
  const m = t.aclAuthMethods.get(method);
  if (!m) throw new BadRequestError(`cannot find auth method with name "${method}"`);
  const cfg = configOf(s, m);
  const selector = str(b, "Selector", what);
  const problem = selectorProblem(selector);
  if (problem !== null) throw new BadRequestError(`invalid Binding Rule: Selector is invalid: ${problem}`);
  const bindType = str(b, "BindType", what);
  const bindName = str(b, "BindName", what);
  if (bindType === "") throw new BadRequestError("Invalid Binding Rule: no BindType is set");
  if (bindName === "") throw new BadRequestError("Invalid Binding Rule: no BindName is set");
  if (!(BIND_TYPES as readonly string[]).includes(bindType)) throw new BadRequestError(`Invalid Binding Rule: unknown BindType "${bindType}"`);
  validateBindName(bindType as BindType, bindName, projectedVarNames(cfg));
  const rule = { ID: id, Description: str(b, "Description", what), AuthMethod: method, Selector: selector, BindType: bindType as BindType, BindName: bindName };
  await write(s, { Op: "binding-rule-set", BindingRules: [rule] });
  return s.state.t.aclBindingRules.get(id)!;
}

export function bindingRuleRead(s: Server, a: { readonly BindingRuleID: string }, o: RequestOptions): MaybePromise<QueryReply<ACLBindingRule | null>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => ({ index: aclIndex(s.state.t), value: s.state.t.aclBindingRules.get(a.BindingRuleID) ?? null }));
}

export function bindingRuleList(s: Server, a: { readonly AuthMethod: string }, o: RequestOptions): MaybePromise<QueryReply<ACLBindingRule[]>> {
  need(s, o, "read");
  return blockingRead(s, o, () => [ACL_TOPIC], () => {
    const out = [...s.state.t.aclBindingRules.values()].filter((r) => a.AuthMethod === "" || r.AuthMethod === a.AuthMethod).sort((x, y) => x.CreateIndex - y.CreateIndex);
    return { index: aclIndex(s.state.t), value: out };
  });
}

export async function bindingRuleDelete(s: Server, a: { readonly BindingRuleID: string }, o: RequestOptions): Promise<boolean> {
  need(s, o, "write");
  if (!s.state.t.aclBindingRules.has(a.BindingRuleID)) return true;
  await write(s, { Op: "binding-rule-delete", IDs: [a.BindingRuleID] });
  return true;
}

// ---- login / logout ----

export interface LoginArgs {
  readonly AuthMethod: string;
  readonly BearerToken: string;
  readonly Meta: Readonly<Record<string, string>>;
}

interface Bindings {
  services: ACLServiceIdentity[];
  nodes: ACLNodeIdentity[];
  roles: ACLLink[];
  policies: ACLLink[];
}

/** Each matching rule's identity, role or policy (Consul's binder); roles and policies that do not exist are skipped. */
function bind(s: Server, method: string, cfg: JwtConfig, id: Parameters<typeof selectorMatches>[1]): Bindings {
  const t = s.state.t;
  const vars = projectedVars(cfg, id);
  const out: Bindings = { services: [], nodes: [], roles: [], policies: [] };
  const seen = new Set<string>();
  const rules = [...t.aclBindingRules.values()].filter((r) => r.AuthMethod === method).sort((x, y) => x.CreateIndex - y.CreateIndex);
  for (const r of rules) {
    if (!selectorMatches(r.Selector, id)) continue;
    const name = computeBindName(r.BindType, r.BindName, vars);
    const key = `${r.BindType}\u0000${name}`;
    if (seen.has(key)) continue;
    seen.add(key);
    switch (r.BindType) {
      case "service":
        out.services.push({ ServiceName: name });
        break;
      case "node":
        out.nodes.push({ NodeName: name, Datacenter: s.config.datacenter });
        break;
      case "role": {
        const role = aclRoleByName(t, name);
        if (role) out.roles.push({ ID: role.ID, Name: role.Name });
        break;
      }
      case "policy": {
        const p = aclPolicyByName(t, name);
        if (p) out.policies.push({ ID: p.ID, Name: p.Name });
        break;
      }
    }
  }
  return out;
}

export async function login(s: Server, a: LoginArgs, o: RequestOptions): Promise<ACLToken> {
  authz(s, { ...o, token: "" });
  if (o.token) throw new BadRequestError("do not provide a token when logging in");
  if (a.AuthMethod === "") throw new BadRequestError("Invalid Login request: Missing auth parameters");
  const metaEntries = Object.entries(a.Meta);
  if (metaEntries.length > MAX_META) throw new BadRequestError(`Invalid Login request: Meta has more than ${MAX_META} entries`);
  const m = s.state.t.aclAuthMethods.get(a.AuthMethod);
  if (!m) throw new ACLNotFoundError(`ACL not found: auth method "${a.AuthMethod}" not found`);
  const cfg = configOf(s, m);
  const now = s.clock.now();
  let identity;
  try {
    identity = await validateLogin(cfg, a.BearerToken, now, jwks);
  } catch (err) {
    if (err instanceof JwtError) throw new BadRequestError(err.message);
    throw err;
  }
  const b = bind(s, m.Name, cfg, identity);
  if (b.services.length + b.nodes.length + b.roles.length + b.policies.length === 0) throw new PermissionDeniedError("", "", "");
  const global = m.TokenLocality === "global";
  if (global && !isPrimary(s)) throw new BadRequestError("creating global tokens via auth methods is only permitted in the primary datacenter");
  const meta = metaEntries.length > 0 ? JSON.stringify(Object.fromEntries(metaEntries.sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))) : "";
  const ttlMs = m.MaxTokenTTL === "" ? 0 : (durationFromJson(m.MaxTokenTTL) ?? 0);
  const body = tokenBody(
    {
      AccessorID: crypto.randomUUID(),
      SecretID: crypto.randomUUID(),
      Description: meta === "" ? "token created via login" : `token created via login: ${meta}`,
      Policies: b.policies,
      Roles: b.roles,
      ServiceIdentities: b.services,
      NodeIdentities: b.nodes,
      Local: !global,
      AuthMethod: m.Name,
      ...(ttlMs > 0 ? { ExpirationTime: rfc3339(now + ttlMs) } : {}),
    },
    now,
  );
  const withHash = { ...body, Hash: await hash([body.Description, body.Policies, body.Roles, body.ServiceIdentities, body.NodeIdentities, body.Local]) };
  await write(s, { Op: "token-set", Tokens: [withHash] });
  return present(s, s.state.t.aclTokens.get(body.AccessorID)!, true);
}

export async function logout(s: Server, _a: unknown, o: RequestOptions): Promise<boolean> {
  authz(s, { ...o, token: "" });
  if (!o.token) throw new ACLNotFoundError();
  const token = aclTokenBySecret(s.state.t, o.token);
  if (!token) throw new ACLNotFoundError();
  // Only a token made by login can log out.
  if (!token.AuthMethod) throw new PermissionDeniedError("", "", "");
  await write(s, { Op: "token-delete", AccessorIDs: [token.AccessorID] });
  return true;
}
