/** Connect: intention evaluation (and, from the CA work, certificates and SPIFFE identities). */
export {
  authorizeConnection,
  authorizeRequest,
  comparePrecedence,
  type EvaluateOptions,
  findIntention,
  headerMatches,
  httpPermissionMatches,
  type HttpRequestInfo,
  type IntentionDecision,
  intentionMatches,
  intentionPrecedence,
  intentionString,
  type ServiceRef,
  sortByPrecedence,
} from "./intentions.ts";
export type {
  Intention,
  IntentionAction,
  IntentionHTTPHeaderPermission,
  IntentionHTTPPermission,
  IntentionPermission,
  SourceIntention,
} from "../structs/intention.ts";
