/** Sessions: creation checks, invalidation (release/delete + lock-delay), reads. */
import type { SessionCommandBody } from "./commands.ts";
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import { KV_TABLE, kvRemove } from "./kv.ts";
import { setLockDelay } from "./lock_delay.ts";
import { deleteQueriesOfSession } from "./prepared_query.ts";
import { nodeKey, type Tables, cmp } from "./tables.ts";
import { sessionTopic, Topic } from "./watch.ts";
import { HealthStatus } from "../structs/catalog.ts";
import { type Session, SessionBehavior } from "../structs/session.ts";
import { touchKey } from "./context.ts";

export const SESSIONS_TABLE = "sessions";

export function sessionCreate(ctx: WriteContext, given: SessionCommandBody): string {
  const { t } = ctx;
  // Node names and check IDs match case-insensitively, as in the catalog.
  const node = t.nodeName(given.Node);
  const body = {
    ...given,
    Node: node,
    NodeChecks: given.NodeChecks.map((id) => t.checkId(node, id)),
    ServiceChecks: given.ServiceChecks.map((c) => ({ ...c, ID: t.checkId(node, c.ID) })),
  };
  if (t.sessions.has(body.ID)) throw new StateError(`session "${body.ID}" already exists`);
  if (!t.nodes.has(body.Node)) throw new StateError(`Missing node registration`);
  for (const id of [...body.NodeChecks, ...body.ServiceChecks.map((c) => c.ID)]) {
    const check = t.checks.get(nodeKey(body.Node, id));
    if (!check) throw new StateError(`Missing check '${id}' registration`);
    if (check.Status === HealthStatus.Critical) throw new StateError(`Check '${id}' is in ${check.Status} state`);
  }
  t.sessions.set(body.ID, {
    ID: body.ID,
    Name: body.Name,
    Node: body.Node,
    LockDelayMs: body.LockDelayMs,
    Behavior: body.Behavior,
    TTL: body.TTL,
    NodeChecks: body.NodeChecks,
    ServiceChecks: body.ServiceChecks,
    CreateIndex: ctx.index,
    ModifyIndex: ctx.index,
  });
  bump(ctx, SESSIONS_TABLE);
  touch(ctx, Topic.Sessions, sessionTopic(body.ID));
  return body.ID;
}

/**
 * Invalidates a session: each key it holds is released (or deleted, per its
 * behavior) and gets the session's lock-delay, then the session goes away.
 */
export function sessionDestroy(ctx: WriteContext, id: string): boolean {
  const { t } = ctx;
  const session = t.sessions.get(id);
  if (!session) return true;
  for (const key of [...(t.keysBySession.get(id) ?? [])]) {
    const row = t.kvs.get(key)!;
    if (session.Behavior === SessionBehavior.Delete) {
      kvRemove(ctx, key);
    } else {
      t.kvs.set(key, { ...row, Session: "", ModifyIndex: ctx.index });
      bump(ctx, KV_TABLE);
      touchKey(ctx, key);
    }
    setLockDelay(ctx, key, session.LockDelayMs);
  }
  deleteQueriesOfSession(ctx, id);
  t.sessions.delete(id);
  bump(ctx, SESSIONS_TABLE);
  touch(ctx, Topic.Sessions, sessionTopic(id));
  return true;
}

/** Invalidates the sessions that depend on a check (it went critical or away). */
export function invalidateSessionsOfCheck(ctx: WriteContext, node: string, checkId: string): void {
  for (const id of [...(ctx.t.sessionsByCheck.get(nodeKey(node, checkId)) ?? [])]) sessionDestroy(ctx, id);
}

export function invalidateSessionsOfNode(ctx: WriteContext, node: string): void {
  for (const id of [...(ctx.t.sessionsByNode.get(node) ?? [])]) sessionDestroy(ctx, id);
}

// ---- reads ----

export function sessionGet(t: Tables, id: string): { index: number; value: Session[] } {
  const s = t.sessions.get(id);
  return { index: t.index(SESSIONS_TABLE), value: s ? [s] : [] };
}

export function sessionList(t: Tables): { index: number; value: Session[] } {
  return { index: t.index(SESSIONS_TABLE), value: [...t.sessions.values()].sort((a, b) => cmp(a.ID, b.ID)) };
}

export function sessionsOfNode(t: Tables, node: string): { index: number; value: Session[] } {
  const ids = [...(t.sessionsByNode.get(t.nodeName(node)) ?? [])].sort();
  return { index: t.index(SESSIONS_TABLE), value: ids.map((id) => t.sessions.get(id)!) };
}
