/** Connect: intention evaluation, and the built-in CA's certificates, keys, CSRs, SPIFFE IDs and configuration. */
export {
  authorizeConnection,
  authorizeRequest,
  comparePrecedence,
  type EvaluateOptions,
  findIntention,
  fullMatch,
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
export { certDer, certInfo, type CertInfo, CLOCK_DRIFT_MS, CROSS_SIGN_TTL_MS, createRootCert, crossSignRoot, serialHex, signLeafCert, verifySignedBy } from "./certs.ts";
export {
  CONSUL_PROVIDER,
  type ConsulCAConfig,
  defaultCAConfigMap,
  DEFAULT_INTERMEDIATE_CERT_TTL_MS,
  DEFAULT_LEAF_CERT_TTL_MS,
  DEFAULT_ROOT_CERT_TTL_MS,
  parseConsulCAConfig,
  providerId,
} from "./config.ts";
export { createCsr, type CsrParams, parseCsr, type ParsedCsr } from "./csr.ts";
export { CAConfigError, CAUnavailableError, CertificateError, RateLimitedError, SignRequestError } from "./errors.ts";
export {
  DEFAULT_KEY_SPEC,
  exportPkcs8Pem,
  exportSec1Pem,
  generateKeyPair,
  importPrivateKeyPem,
  type ImportedKey,
  keyId,
  type KeySpec,
  type KeyType,
} from "./keys.ts";
export { ensureTrailingNewline, hexString, pemDecode, pemDecodeAll, pemEncode } from "./pem.ts";
export { type CertFields, type CsrFields, type Issuer, issueLeaf, issuerOf, type LeafTemplate, readCert, readCsr } from "./leaf.ts";
export { makeRoot, type MadeRoot, ROOT_NAME } from "./root.ts";
export { canSign, parseSpiffeUri, serviceId, type SpiffeId, spiffeUri, trustDomainFor } from "./spiffe.ts";
