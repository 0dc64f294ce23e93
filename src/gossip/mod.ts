/**
 * Gossip: SWIM membership with Lifeguard, Serf's member/event/query layer,
 * AES-GCM keyring, and Vivaldi coordinates. The agent uses `createPool`.
 */
export { createPool } from "./pool.ts";
export { Serf } from "./serf.ts";
export type {
  AgentMemberJson,
  GossipPool,
  KeyringOptions,
  KeyringResponse,
  Member,
  MemberEvent,
  MemberEventType,
  MemberStatus,
  PoolEvent,
  PoolListener,
  PoolOptions,
  PoolStats,
  QueryEvent,
  QueryOptions,
  QueryResponse,
  UserEventMessage,
} from "./types.ts";
export { MEMBER_STATUS_CODE, agentMember } from "./types.ts";
export type { GossipConfig } from "./config.ts";
export { DEV_CONFIG, LAN_CONFIG, WAN_CONFIG } from "./config.ts";
export type { Coordinate, VivaldiConfig } from "./coordinate.ts";
export { DEFAULT_VIVALDI, VivaldiClient, distance as coordinateDistance, newCoordinate } from "./coordinate.ts";
export { Keyring, KeyringError, decodeKey, encodeKey } from "./keyring.ts";
export { GossipSizeError, JoinError, PoolClosedError } from "./errors.ts";
export type { Clock } from "./clock.ts";
export { systemClock } from "./clock.ts";
export type { Random } from "./random.ts";
export { seededRandom, systemRandom } from "./random.ts";
export type { Address, Transport } from "./transport.ts";
export { UdpTransport } from "./udp_transport.ts";
