/**
 * Log command types. Append-only: a number, once used, keeps its meaning
 * forever (they follow Consul's structs.MessageType numbering). Every command
 * carries `Now` (proposer's wall clock, ms) so `apply` never reads a clock.
 */
import type { DeregisterRequest, RegisterRequest } from "../structs/catalog.ts";
import type { CAConfigBody, CARootBody } from "../structs/connect_ca.ts";
import type { KvVerb } from "../structs/kv.ts";
import type { SessionBehavior, ServiceCheckRef } from "../structs/session.ts";
import type { EntryBody } from "../configentry/kinds/kind.ts";
import type { CoordinateEntry } from "../structs/coordinate.ts";
import type { PreparedQuery } from "../structs/prepared_query.ts";
import type { ACLCommandBody } from "./acl.ts";
import type { AutopilotConfigBody } from "../structs/autopilot.ts";

export const MessageType = {
  Register: 0,
  Deregister: 1,
  KVS: 2,
  Session: 3,
  Tombstone: 5,
  CoordinateBatchUpdate: 6,
  PreparedQuery: 7,
  Txn: 8,
  /** Autopilot configuration (Consul's AutopilotRequestType). */
  Autopilot: 9,
  /** Intention edits through the /v1/connect/intentions API (Consul's IntentionRequestType). */
  /** ACL bootstrap (Consul's ACLBootstrapRequestType). */
  ACLBootstrap: 11,
  Intention: 12,
  ConnectCA: 13,
  ACLTokenSet: 17,
  ACLTokenDelete: 18,
  ACLPolicySet: 19,
  ACLPolicyDelete: 20,
  ConfigEntry: 22,
  ACLRoleSet: 23,
  ACLRoleDelete: 24,
  ACLBindingRuleSet: 25,
  ACLBindingRuleDelete: 26,
  ACLAuthMethodSet: 27,
  ACLAuthMethodDelete: 28,
  /** Consulate's own, above Consul's range: a no-op entry a `consistent` read waits for. */
  Barrier: 120,
  /** Consulate's own: replaces the whole state with a snapshot (`PUT /v1/snapshot`). */
  Restore: 121,
} as const;
export type MessageType = (typeof MessageType)[keyof typeof MessageType];

/** KV entry inside a command: value base64, flags as a decimal string (uint64). */
export interface KvCommandEntry {
  Key: string;
  Value: string | null;
  Flags: string;
  Session: string;
  /** CAS index for `cas`, `delete-cas`, `check-index`. */
  ModifyIndex: number;
}

export interface SessionCommandBody {
  ID: string;
  Name: string;
  Node: string;
  LockDelayMs: number;
  Behavior: SessionBehavior;
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: ServiceCheckRef[];
}

export type TxnOp =
  | { KV: { Verb: KvVerb; Entry: KvCommandEntry } }
  | { Node: { Verb: string; Node: RegisterRequest; Index: number } }
  | { Service: { Verb: string; Node: string; Service: NonNullable<RegisterRequest["Service"]>; Index: number } }
  | { Check: { Verb: string; Check: RegisterRequest["Checks"][number]; Index: number } };

/**
 * Consul's ConfigEntryOp; `Index` is the CAS index of the -cas ops.
 * `upsert-status-cas` (Consul's ConfigEntryUpsertWithStatusCAS) is the
 * gateway controller's: it replaces only the stored entry's Status.
 */
export type ConfigEntryOp = "upsert" | "upsert-cas" | "delete" | "delete-cas" | "upsert-status-cas";
export interface ConfigEntryCommand {
  readonly Type: typeof MessageType.ConfigEntry;
  readonly Now: number;
  readonly Op: ConfigEntryOp;
  /** The normalized, validated entry (only Kind and Name matter for deletes). */
  readonly Entry: EntryBody;
  readonly Index?: number;
}

/**
 * A prepared query write (Consul's PreparedQueryRequest): the proposer
 * fills in the ID of a new query; delete looks only at `Query.ID`.
 */
export interface PreparedQueryCommand {
  readonly Type: typeof MessageType.PreparedQuery;
  readonly Now: number;
  readonly Op: "create" | "update" | "delete";
  readonly Query: PreparedQuery;
}

/**
 * An intention edit (Consul's IntentionMutation), applied to the destination's
 * `service-intentions` entry. `Value` is the source entry to store.
 */
export type IntentionMutation =
  | { readonly Op: "create"; readonly Destination: string; readonly Value: Record<string, unknown> }
  | { readonly Op: "update"; readonly ID: string; readonly Value: Record<string, unknown> }
  | { readonly Op: "upsert"; readonly Destination: string; readonly Source: string; readonly Value: Record<string, unknown> }
  | { readonly Op: "delete"; readonly Destination: string; readonly Source: string }
  | { readonly Op: "delete-id"; readonly ID: string };
/**
 * Connect CA writes (Consul's CARequest ops). Keys, certificates and serials
 * are made by the proposer; apply only checks the CAS index and stores them.
 */
export type ConnectCAOp =
  | { Op: "set-config"; Config: CAConfigBody }
  /** Replaces the roots if the roots table is still at `Index` (0: none yet); answers true or false. */
  | { Op: "set-roots"; Index: number; Roots: CARootBody[] }
  | { Op: "set-roots-config"; Index: number; Roots: CARootBody[]; Config: CAConfigBody }
  /** Answers the next certificate serial number. */
  | { Op: "increment-serial" };

export type Command =
  | { Type: typeof MessageType.Register; Now: number; Req: RegisterRequest }
  | { Type: typeof MessageType.Deregister; Now: number; Req: DeregisterRequest }
  | { Type: typeof MessageType.KVS; Now: number; Op: KvVerb; Entry: KvCommandEntry }
  | { Type: typeof MessageType.Session; Now: number; Op: "create"; Session: SessionCommandBody }
  | { Type: typeof MessageType.Session; Now: number; Op: "destroy"; ID: string }
  | { Type: typeof MessageType.Tombstone; Now: number; ReapIndex: number }
  | { Type: typeof MessageType.Txn; Now: number; Ops: TxnOp[] }
  /** Network coordinates batched by a server (Consul's CoordinateBatchUpdateType). */
  | { Type: typeof MessageType.CoordinateBatchUpdate; Now: number; Coordinates: CoordinateEntry[] }
  | ConfigEntryCommand
  | PreparedQueryCommand
  | { Type: typeof MessageType.Intention; Now: number; Mutation: IntentionMutation }
  /** `State` is a state snapshot (`StateStore.snapshot()` bytes), base64. */
  | { Type: typeof MessageType.Restore; Now: number; State: string }
  /**
   * A no-op a `consistent` read waits for. With `Leader`, it is also the
   * fence a newly elected leader appends before its first leader-only command.
   */
  | { Type: typeof MessageType.Barrier; Now: number; Leader?: { ID: string; Node: string } }
  | ({ Type: typeof MessageType.ConnectCA; Now: number } & ConnectCAOp)
  /** Stores the autopilot configuration; with `CAS`, only if its ModifyIndex is still `CAS`. Answers true or false. */
  | { Type: typeof MessageType.Autopilot; Now: number; Config: AutopilotConfigBody; CAS?: number }
  | ({ Type: ACLMessageType; Now: number } & ACLCommandBody);

export type ACLMessageType =
  | typeof MessageType.ACLBootstrap
  | typeof MessageType.ACLTokenSet
  | typeof MessageType.ACLTokenDelete
  | typeof MessageType.ACLPolicySet
  | typeof MessageType.ACLPolicyDelete
  | typeof MessageType.ACLRoleSet
  | typeof MessageType.ACLRoleDelete
  | typeof MessageType.ACLBindingRuleSet
  | typeof MessageType.ACLBindingRuleDelete
  | typeof MessageType.ACLAuthMethodSet
  | typeof MessageType.ACLAuthMethodDelete;

/** The log type of each ACL operation (Consul's numbering). */
export const ACL_OP_TYPE: Readonly<Record<ACLCommandBody["Op"], ACLMessageType>> = {
  bootstrap: MessageType.ACLBootstrap,
  "token-set": MessageType.ACLTokenSet,
  "token-delete": MessageType.ACLTokenDelete,
  "policy-set": MessageType.ACLPolicySet,
  "policy-delete": MessageType.ACLPolicyDelete,
  "role-set": MessageType.ACLRoleSet,
  "role-delete": MessageType.ACLRoleDelete,
  "binding-rule-set": MessageType.ACLBindingRuleSet,
  "binding-rule-delete": MessageType.ACLBindingRuleDelete,
  "auth-method-set": MessageType.ACLAuthMethodSet,
  "auth-method-delete": MessageType.ACLAuthMethodDelete,
};

/**
 * A leader-only command (session TTL expiry, tombstone reaping, ...) carries
 * the index of the fence entry its leader appended; `apply` refuses it once a
 * later leader has fenced, so two servers never both act as leader in the log.
 */
export type FencedCommand = Command & { Fence?: number };

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeCommand(cmd: Command): Uint8Array {
  return encoder.encode(JSON.stringify(cmd));
}

export function decodeCommand(data: Uint8Array): Command {
  return JSON.parse(decoder.decode(data)) as Command;
}
