/**
 * ACL tokens, policies and roles in the state machine (Consul's
 * agent/consul/state/acl.go): writes are whole objects made by the proposer;
 * apply checks only what must hold across servers (unique names and secrets,
 * the one-time bootstrap) and stamps the indexes.
 */
import type { ACLAuthMethod, ACLBindingRule, ACLPolicyRow, ACLRole, ACLToken } from "../structs/acl.ts";
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import type { Tables } from "./tables.ts";

export const ACL_TOKENS_TABLE = "acl-tokens";
export const ACL_POLICIES_TABLE = "acl-policies";
export const ACL_ROLES_TABLE = "acl-roles";
export const ACL_AUTH_METHODS_TABLE = "acl-auth-methods";
export const ACL_BINDING_RULES_TABLE = "acl-binding-rules";
/** The index of the entry that bootstrapped ACLs (0: not yet); the reset procedure names it. */
export const ACL_BOOTSTRAP_KEY = "bootstrap";
/** Topic fired by every ACL change (resolvers drop their caches, blocking ACL reads wake). */
export const ACL_TOPIC = "acl";

type Unindexed<T> = Omit<T, "CreateIndex" | "ModifyIndex">;
export type ACLTokenBody = Unindexed<ACLToken>;
export type ACLPolicyBody = Unindexed<ACLPolicyRow>;
export type ACLRoleBody = Unindexed<ACLRole>;
export type ACLAuthMethodBody = Unindexed<ACLAuthMethod>;
export type ACLBindingRuleBody = Unindexed<ACLBindingRule>;

export type ACLCommandBody =
  /** `ResetIndex`: the index from the acl-bootstrap-reset file (0 when there is none). */
  | { readonly Op: "bootstrap"; readonly Token: ACLTokenBody; readonly ResetIndex: number }
  /** `IfMissing`: leave an existing object of that ID alone (the leader's built-ins, the initial management token). */
  | { readonly Op: "token-set"; readonly Tokens: ACLTokenBody[]; readonly IfMissing?: boolean }
  | { readonly Op: "token-delete"; readonly AccessorIDs: string[] }
  | { readonly Op: "policy-set"; readonly Policies: ACLPolicyBody[]; readonly IfMissing?: boolean }
  | { readonly Op: "policy-delete"; readonly IDs: string[] }
  | { readonly Op: "role-set"; readonly Roles: ACLRoleBody[] }
  | { readonly Op: "role-delete"; readonly IDs: string[] }
  | { readonly Op: "auth-method-set"; readonly AuthMethods: ACLAuthMethodBody[] }
  /** Also deletes the method's binding rules and the tokens it made (Consul's aclAuthMethodDeleteTxn). */
  | { readonly Op: "auth-method-delete"; readonly Names: string[] }
  | { readonly Op: "binding-rule-set"; readonly BindingRules: ACLBindingRuleBody[] }
  | { readonly Op: "binding-rule-delete"; readonly IDs: string[] };

function changed(ctx: WriteContext, table: string): void {
  bump(ctx, table);
  touch(ctx, ACL_TOPIC);
}

function setToken(ctx: WriteContext, body: ACLTokenBody, ifMissing: boolean): void {
  const t = ctx.t;
  const existing = t.aclTokens.get(body.AccessorID);
  if (ifMissing && (existing || t.aclTokenBySecret.has(body.SecretID))) return;
  const holder = t.aclTokenBySecret.get(body.SecretID);
  if (holder !== undefined && holder !== body.AccessorID) throw new StateError("Invalid Token: SecretID is already in use");
  if (existing && existing.SecretID !== body.SecretID) throw new StateError("Invalid Token: SecretID cannot be changed");
  t.aclTokens.set(body.AccessorID, { ...body, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
  changed(ctx, ACL_TOKENS_TABLE);
}

export function applyACL(ctx: WriteContext, cmd: ACLCommandBody): boolean {
  const t = ctx.t;
  switch (cmd.Op) {
    case "bootstrap": {
      const done = t.aclMeta.get(ACL_BOOTSTRAP_KEY) ?? 0;
      if (done > 0 && cmd.ResetIndex !== done) throw new StateError(`ACL bootstrap no longer allowed (reset index: ${done})`);
      setToken(ctx, cmd.Token, false);
      t.aclMeta.set(ACL_BOOTSTRAP_KEY, ctx.index);
      return true;
    }
    case "token-set":
      for (const tok of cmd.Tokens) setToken(ctx, tok, cmd.IfMissing === true);
      return true;
    case "token-delete":
      for (const id of cmd.AccessorIDs) if (t.aclTokens.delete(id)) changed(ctx, ACL_TOKENS_TABLE);
      return true;
    case "policy-set":
      for (const p of cmd.Policies) {
        const existing = t.aclPolicies.get(p.ID);
        if (existing && cmd.IfMissing) continue;
        const named = t.aclPolicyByName.get(p.Name);
        if (named !== undefined && named !== p.ID) throw new StateError(`Invalid Policy: A Policy with Name "${p.Name}" already exists`);
        t.aclPolicies.set(p.ID, { ...p, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
        changed(ctx, ACL_POLICIES_TABLE);
      }
      return true;
    case "policy-delete":
      for (const id of cmd.IDs) if (t.aclPolicies.delete(id)) changed(ctx, ACL_POLICIES_TABLE);
      return true;
    case "role-set":
      for (const r of cmd.Roles) {
        const existing = t.aclRoles.get(r.ID);
        const named = t.aclRoleByName.get(r.Name);
        if (named !== undefined && named !== r.ID) throw new StateError(`Invalid Role: A Role with Name "${r.Name}" already exists`);
        t.aclRoles.set(r.ID, { ...r, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
        changed(ctx, ACL_ROLES_TABLE);
      }
      return true;
    case "role-delete":
      for (const id of cmd.IDs) if (t.aclRoles.delete(id)) changed(ctx, ACL_ROLES_TABLE);
      return true;
    case "auth-method-set":
      for (const m of cmd.AuthMethods) {
        const existing = t.aclAuthMethods.get(m.Name);
        if (existing && existing.Type !== m.Type) throw new StateError("the Type field of an Auth Method is immutable");
        t.aclAuthMethods.set(m.Name, { ...m, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
        changed(ctx, ACL_AUTH_METHODS_TABLE);
      }
      return true;
    case "auth-method-delete":
      for (const name of cmd.Names) {
        if (!t.aclAuthMethods.delete(name)) continue;
        changed(ctx, ACL_AUTH_METHODS_TABLE);
        for (const r of [...t.aclBindingRules.values()]) if (r.AuthMethod === name && t.aclBindingRules.delete(r.ID)) changed(ctx, ACL_BINDING_RULES_TABLE);
        for (const tok of [...t.aclTokens.values()]) if (tok.AuthMethod === name && t.aclTokens.delete(tok.AccessorID)) changed(ctx, ACL_TOKENS_TABLE);
      }
      return true;
    case "binding-rule-set":
      for (const r of cmd.BindingRules) {
        if (!t.aclAuthMethods.has(r.AuthMethod)) throw new StateError(`cannot find auth method with name "${r.AuthMethod}"`);
        const existing = t.aclBindingRules.get(r.ID);
        t.aclBindingRules.set(r.ID, { ...r, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
        changed(ctx, ACL_BINDING_RULES_TABLE);
      }
      return true;
    case "binding-rule-delete":
      for (const id of cmd.IDs) if (t.aclBindingRules.delete(id)) changed(ctx, ACL_BINDING_RULES_TABLE);
      return true;
  }
}

/** The index every ACL read reports (Consul's max of the ACL tables). */
export function aclIndex(t: Tables): number {
  return t.maxIndex(ACL_TOKENS_TABLE, ACL_POLICIES_TABLE, ACL_ROLES_TABLE, ACL_AUTH_METHODS_TABLE, ACL_BINDING_RULES_TABLE);
}

export function aclTokenBySecret(t: Tables, secret: string): ACLToken | undefined {
  const id = t.aclTokenBySecret.get(secret);
  return id === undefined ? undefined : t.aclTokens.get(id);
}

export function aclPolicyByName(t: Tables, name: string): ACLPolicyRow | undefined {
  const id = t.aclPolicyByName.get(name);
  return id === undefined ? undefined : t.aclPolicies.get(id);
}

export function aclRoleByName(t: Tables, name: string): ACLRole | undefined {
  const id = t.aclRoleByName.get(name);
  return id === undefined ? undefined : t.aclRoles.get(id);
}
