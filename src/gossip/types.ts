/**
 * The gossip pool's public types: members as Serf reports them, the events a
 * pool emits, keyring answers, and the facade the agent drives.
 */
import type { Clock } from "./clock.ts";
import type { Coordinate } from "./coordinate.ts";
import type { GossipConfig } from "./config.ts";
import type { Random } from "./random.ts";
import type { Transport } from "./transport.ts";

export type MemberStatus = "alive" | "leaving" | "left" | "failed";

/** Serf's numeric MemberStatus, which Consul's `/v1/agent/members` shows as `Status`. */
export const MEMBER_STATUS_CODE: Readonly<Record<MemberStatus, number>> = { alive: 1, leaving: 2, left: 3, failed: 4 };

/**
 * One member as Serf's Member has it (and `/v1/agent/members` prints it, with
 * `Status` turned into its number by `agentMember`).
 */
export interface Member {
  readonly Name: string;
  readonly Addr: string;
  readonly Port: number;
  readonly Tags: Readonly<Record<string, string>>;
  readonly Status: MemberStatus;
  readonly ProtocolMin: number;
  readonly ProtocolMax: number;
  readonly ProtocolCur: number;
  readonly DelegateMin: number;
  readonly DelegateMax: number;
  readonly DelegateCur: number;
}

/** Consul's api.AgentMember JSON for a member. */
export interface AgentMemberJson {
  Name: string;
  Addr: string;
  Port: number;
  Tags: Record<string, string>;
  Status: number;
  ProtocolMin: number;
  ProtocolMax: number;
  ProtocolCur: number;
  DelegateMin: number;
  DelegateMax: number;
  DelegateCur: number;
}

export function agentMember(m: Member): AgentMemberJson {
  return { ...m, Tags: { ...m.Tags }, Status: MEMBER_STATUS_CODE[m.Status] };
}

export type MemberEventType = "member-join" | "member-leave" | "member-failed" | "member-update" | "member-reap";

export interface MemberEvent {
  readonly type: MemberEventType;
  readonly member: Member;
}

/** A user event (`consulate event`) as it arrives; `ltime` is Serf's event Lamport time. */
export interface UserEventMessage {
  readonly type: "user";
  readonly name: string;
  readonly payload: Uint8Array;
  readonly ltime: number;
  readonly coalesce: boolean;
}

/** A query addressed to this member; `respond` answers it once. */
export interface QueryEvent {
  readonly type: "query";
  readonly name: string;
  readonly payload: Uint8Array;
  readonly ltime: number;
  readonly sourceNode: string;
  respond(payload: Uint8Array): boolean;
}

export type PoolEvent = MemberEvent | UserEventMessage | QueryEvent;

export type PoolListener = (event: PoolEvent) => void;

/**
 * Serf's KeyResponse plus the primary-key counts newer Serf and Consul's
 * `/v1/operator/keyring` report. Keys are base64; counts are members holding them.
 */
export interface KeyringResponse {
  Messages: Record<string, string>;
  NumNodes: number;
  NumResp: number;
  NumErr: number;
  Keys: Record<string, number>;
  PrimaryKeys: Record<string, number>;
}

export interface QueryOptions {
  /** Default: gossipInterval × queryTimeoutMult × ⌈log10(n+1)⌉. */
  readonly timeoutMs?: number;
  /** Ask only these members (by name). */
  readonly filterNodes?: readonly string[];
  /** Ask only members whose tags match these regular expressions. */
  readonly filterTags?: Readonly<Record<string, string>>;
}

export interface QueryResponse {
  /** Responses by member name, in arrival order. */
  readonly responses: ReadonlyMap<string, Uint8Array>;
  /** Members that were expected to answer (alive at send time, after filters). */
  readonly expected: number;
}

/** Counters of what a pool sent, received and threw away. */
export interface PoolStats {
  packetsSent: number;
  packetsReceived: number;
  bytesSent: number;
  bytesReceived: number;
  streamsOpened: number;
  streamsAccepted: number;
  /** Dropped inbound packets by reason. */
  dropped: {
    malformed: number;
    unknownKey: number;
    unencrypted: number;
    wrongLabel: number;
    replayed: number;
    stale: number;
    badVersion: number;
  };
  /** Times a probe target was declared suspect/dead by this member. */
  suspicions: number;
  /** Times this member refuted a suspicion or death about itself. */
  refutes: number;
  /** Lifeguard's local health score (0 = healthy). */
  health: number;
}

export interface KeyringOptions {
  /** Base64 keys (16, 24 or 32 bytes: AES-128/192/256-GCM); the first is primary unless `primary` says otherwise. */
  readonly keys: readonly string[];
  readonly primary?: string;
}

export interface PoolOptions {
  /** This member's (node's) name, unique in the pool. */
  readonly name: string;
  /** Address to bind; default 127.0.0.1 (nothing is exposed unless asked). */
  readonly bindAddr?: string;
  /** Port to bind (UDP and TCP); default 8301, 0 picks a free one. */
  readonly bindPort?: number;
  /** Address and port other members use to reach us; default the bound ones. */
  readonly advertiseAddr?: string;
  readonly advertisePort?: number;
  readonly tags?: Readonly<Record<string, string>>;
  /** The datacenter; a LAN pool rejects packets labelled for another one. */
  readonly dc?: string;
  /**
   * The pool label carried (authenticated) in every packet. Default
   * `lan:<dc>`; the WAN pool uses `wan`.
   */
  readonly label?: string;
  /** Encryption keys; without them gossip is plaintext (and plaintext is all that is accepted). */
  readonly keyring?: KeyringOptions;
  /** Called with the keyring after every change (install/use/remove), so the agent can persist it. */
  readonly onKeyringChange?: (keys: string[], primary: string) => void;
  /** Timings; default LAN_CONFIG. */
  readonly config?: Partial<GossipConfig>;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Default: UDP + TCP sockets on bindAddr:bindPort. */
  readonly transport?: Transport;
  /** Where the pool logs (default: nowhere). */
  readonly log?: (level: "debug" | "info" | "warn" | "error", msg: string) => void;
}

/** The facade the agent uses: one pool (LAN or WAN) this member belongs to. */
export interface GossipPool {
  readonly name: string;
  localMember(): Member;
  /** Every known member, ourselves included, alive or not (until reaped). */
  members(): Member[];
  /** Members that are not failed or left (Serf's NumMembers). */
  numAliveMembers(): number;
  /** Contacts each address (push-pull over TCP); resolves to how many answered. Throws if none did. */
  join(addrs: readonly string[], ignoreOld?: boolean): Promise<number>;
  /** Broadcasts our leave, waits for it to spread, and stops probing. */
  leave(): Promise<void>;
  /** Stops everything without telling anyone (like a crash, if not preceded by leave()). */
  shutdown(): Promise<void>;
  setTags(tags: Readonly<Record<string, string>>): void;
  userEvent(name: string, payload: Uint8Array, coalesce: boolean): void;
  query(name: string, payload: Uint8Array, options?: QueryOptions): Promise<QueryResponse>;
  /** Subscribes to member, user and query events; returns the unsubscribe function. */
  on(listener: PoolListener): () => void;
  /** Marks a failed member left (and with `prune` forgets it at once). */
  forceLeave(name: string, prune?: boolean): Promise<void>;
  installKey(key: string): Promise<KeyringResponse>;
  useKey(key: string): Promise<KeyringResponse>;
  removeKey(key: string): Promise<KeyringResponse>;
  listKeys(): Promise<KeyringResponse>;
  /** Our Vivaldi coordinate (null when coordinates are off). */
  coordinate(): Coordinate | null;
  /** The last coordinate we heard from a member. */
  memberCoordinate(name: string): Coordinate | null;
  /** Every member coordinate we hold, ours included. */
  coordinates(): Map<string, Coordinate>;
  stats(): PoolStats;
}
