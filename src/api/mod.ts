/**
 * Typed client of Consulate's (and Consul's) `/v1` HTTP API.
 *
 * @example
 * ```ts
 * import { Client } from "./src/api/mod.ts";
 * const client = new Client({ address: "127.0.0.1:8500" });
 * await client.kv().put({ Key: "greeting", Value: "hello" });
 * const [pair, meta] = await client.kv().get("greeting");
 * console.log(new TextDecoder().decode(pair?.Value ?? new Uint8Array()), meta.lastIndex);
 * ```
 */
export { Client, escapePath } from "./client.ts";
export { TLS_ENV, type TlsConfig, tlsConfigFromEnv, tlsFetch } from "./tls.ts";
export type { ClientOptions, HttpMethod, RawRequest, RawResponse } from "./client.ts";
export type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
export { parseQueryMeta } from "./options.ts";
export {
  ApiConfigError,
  ApiConnectionError,
  ApiDecodeError,
  ApiError,
  LockError,
  LockErrorCode,
  SessionExpiredError,
} from "./errors.ts";
export { KV, KVOp, InvalidKeyError, kvPairFromWire } from "./kv.ts";
export type { KVPair, KVPairInput, KVTxnOp, KVTxnResponse } from "./kv.ts";
export { Session, SessionBehavior } from "./session.ts";
export type { ServiceCheck, SessionEntry, SessionRequest } from "./session.ts";
export { Catalog } from "./catalog.ts";
export { Coordinate } from "./coordinate.ts";
export type { Coord, CoordinateDatacenterMap, CoordinateEntry } from "./coordinate.ts";
export type { CatalogDeregistration, CatalogNode, CatalogNodeServiceList, CatalogRegistration, CatalogService } from "./catalog.ts";
export { Health, HealthState } from "./health.ts";
export type { ServiceEntry } from "./health.ts";
export { Agent, MemberStatus, MemberTag } from "./agent.ts";
export type {
  AgentCheckRegistration,
  AgentMember,
  AgentSelf,
  AgentServiceCheck,
  AgentServiceChecksInfo,
  AgentServiceRegistration,
  MembersOptions,
} from "./agent.ts";
export { Event, eventIdToIndex, userEventToWire } from "./event.ts";
export type { FireParams, UserEvent } from "./event.ts";
export { Operator } from "./operator.ts";
export type { FederationStatus, RaftConfiguration, RaftServer } from "./operator.ts";
export type { KeyringOptions, KeyringResponse } from "./keyring.ts";
export { Snapshot } from "./snapshot.ts";
export { Status } from "./status.ts";
export { ACL, type ACLAuthMethod, type ACLAuthMethodInput, type ACLAuthMethodListEntry, type ACLBindingRule, type ACLBindingRuleInput, type ACLLoginParams, type ACLLink, type ACLNodeIdentity, type ACLPolicy, type ACLPolicyInput, type ACLPolicyListEntry, type ACLRole, type ACLRoleInput, type ACLServiceIdentity, type ACLToken, type ACLTokenInput, type TokenListFilter } from "./acl.ts";
export { Txn } from "./txn.ts";
export { ConfigEntries } from "./config_entries.ts";
export { type CompiledDiscoveryChainWire, DiscoveryChain, type DiscoveryChainOptions, type DiscoveryGraphNodeWire, type DiscoveryTargetWire } from "./discovery_chain.ts";
export type { ConfigEntry } from "./config_entries.ts";
export { ConnectIntentions, intentionPart } from "./connect_intentions.ts";
export { ConnectCA } from "./connect_ca.ts";
export type { CAConfig, CARoot, CARootList, LeafCert } from "./connect_ca.ts";
export type { AgentAuthorize, AgentAuthorizeParams, Intention, IntentionMatchType, IntentionPermission } from "./connect_intentions.ts";
export type { CheckTxnOp, NodeTxnOp, ServiceTxnOp, TxnError, TxnOp, TxnResponse, TxnResult } from "./txn.ts";
export {
  DEFAULT_LOCK_RETRY_TIME,
  DEFAULT_LOCK_SESSION_NAME,
  DEFAULT_LOCK_SESSION_TTL,
  DEFAULT_LOCK_WAIT_TIME,
  DEFAULT_MONITOR_RETRY_TIME,
  LOCK_FLAG_VALUE,
  Lock,
  MONITOR_WAIT_TIME,
} from "./lock.ts";
export type { LockOptions } from "./lock.ts";
export {
  DEFAULT_SEMAPHORE_KEY,
  DEFAULT_SEMAPHORE_SESSION_NAME,
  DEFAULT_SEMAPHORE_SESSION_TTL,
  DEFAULT_SEMAPHORE_WAIT_TIME,
  SEMAPHORE_FLAG_VALUE,
  Semaphore,
} from "./semaphore.ts";
export type { SemaphoreOptions } from "./semaphore.ts";
export type { AgentService, HealthCheck, HealthCheckDefinition, HealthStatus, Node, ServiceAddress, ServiceKind, Weights } from "./types.ts";
export { Base64Error, decodeBase64, encodeBase64 } from "./base64.ts";
export { DurationError, durationToMsec, parseDuration } from "./duration.ts";
export { encodeJson, parseJson } from "./json.ts";
export type { EncodeOptions } from "./json.ts";
export { cleanPath, joinPath } from "./gopath.ts";
export { sleep } from "./sleep.ts";
