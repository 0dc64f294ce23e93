/**
 * Serf's view of a member (status ordered by Lamport time, tags, protocol
 * versions) and what is derived from it: the public Member, a query's
 * node and tag filters, the size limit on tags.
 */
import { GossipSizeError } from "./errors.ts";
import type { Versions } from "./messages.ts";
import { encodeTags, type QueryMsg } from "./serf_messages.ts";
import type { Member, MemberStatus, PoolStats } from "./types.ts";

export interface MemberState {
  name: string;
  addr: string;
  port: number;
  tags: Record<string, string>;
  status: MemberStatus;
  vsn: Versions;
  statusLTime: number;
  /** When it failed or left (for reaping). */
  leaveTime: number;
}

const META_MAX = 512;

export function emptyStats(): PoolStats {
  return {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    streamsOpened: 0,
    streamsAccepted: 0,
    dropped: { malformed: 0, unknownKey: 0, unencrypted: 0, wrongLabel: 0, replayed: 0, stale: 0, badVersion: 0 },
    suspicions: 0,
    refutes: 0,
    health: 0,
  };
}

export function toMember(m: MemberState): Member {
  const [pmin, pmax, pcur, dmin, dmax, dcur] = m.vsn;
  return {
    Name: m.name,
    Addr: m.addr,
    Port: m.port,
    Tags: { ...m.tags },
    Status: m.status,
    ProtocolMin: pmin,
    ProtocolMax: pmax,
    ProtocolCur: pcur,
    DelegateMin: dmin,
    DelegateMax: dmax,
    DelegateCur: dcur,
  };
}

/** Throws GossipSizeError when the encoded tags pass Serf's 512-byte meta limit. */
export function checkMeta(tags: Readonly<Record<string, string>>): void {
  const n = encodeTags(tags).length;
  if (n > META_MAX) throw new GossipSizeError(`Encoded length of tags exceeds limit of ${META_MAX} bytes`);
}

/** Whether a query's node list and tag expressions select this member (a bad expression selects nothing). */
export function matchesFilters(m: MemberState, q: QueryMsg): boolean {
  if (q.filterNodes.length > 0 && !q.filterNodes.includes(m.name)) return false;
  for (const [tag, expr] of q.filterTags) {
    const v = m.tags[tag];
    if (v === undefined) return false;
    try {
      if (!new RegExp(expr).test(v)) return false;
    } catch {
      return false;
    }
  }
  return true;
}
