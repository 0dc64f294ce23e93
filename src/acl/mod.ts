/** Consul's ACL system: rules language, authorizers, identities and errors. */
export { Access, Decision, enforce, isAccess, type Level, Resource, strongest } from "./access.ts";
export { ALLOW_ALL, Authorizer, type DefaultPolicy, PolicyAuthorizer } from "./authorizer.ts";
export { ACLDisabledError, ACLNotFoundError, ANONYMOUS_TOKEN_ID, PermissionDeniedError, RulesError } from "./errors.ts";
export {
  DNS_TEMPLATE_RULES,
  GLOBAL_MANAGEMENT_POLICY_ID,
  GLOBAL_MANAGEMENT_POLICY_NAME,
  GLOBAL_MANAGEMENT_RULES,
  GLOBAL_MANAGEMENT_RULES_TEXT,
  GLOBAL_READ_ONLY_POLICY_ID,
  GLOBAL_READ_ONLY_POLICY_NAME,
  GLOBAL_READ_ONLY_RULES,
  GLOBAL_READ_ONLY_RULES_TEXT,
  nodeIdentityRules,
  serviceIdentityRules,
} from "./identities.ts";
export { MAX_RULES_BYTES, type NamedRule, parseRules, type RuleSet, rulesFromDocument } from "./rules.ts";
