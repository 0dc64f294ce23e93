export const SessionBehavior = { Release: "release", Delete: "delete" } as const;
export type SessionBehavior = (typeof SessionBehavior)[keyof typeof SessionBehavior];

export interface ServiceCheckRef {
  ID: string;
  Namespace: string;
}

/** A session as stored; LockDelay in milliseconds (the wire shows nanoseconds). */
export interface Session {
  ID: string;
  Name: string;
  Node: string;
  LockDelayMs: number;
  Behavior: SessionBehavior;
  TTL: string;
  NodeChecks: string[];
  ServiceChecks: ServiceCheckRef[];
  CreateIndex: number;
  ModifyIndex: number;
}

export function sessionJson(s: Session): Record<string, unknown> {
  return {
    ID: s.ID,
    Name: s.Name,
    Node: s.Node,
    LockDelay: Math.round(s.LockDelayMs * 1e6),
    Behavior: s.Behavior,
    TTL: s.TTL,
    NodeChecks: s.NodeChecks,
    ServiceChecks: s.ServiceChecks.length === 0 ? null : s.ServiceChecks,
    CreateIndex: s.CreateIndex,
    ModifyIndex: s.ModifyIndex,
  };
}

export const SESSION_TTL_MIN_MS = 10_000;
export const SESSION_TTL_MAX_MS = 24 * 3_600_000;
export const SESSION_TTL_MULTIPLIER = 2;
export const DEFAULT_LOCK_DELAY_MS = 15_000;
export const MAX_LOCK_DELAY_MS = 60_000;
