/** Session.* endpoints (Consul's agent/consul/session_endpoint.go). */
import { blockingRead } from "./read.ts";
import type { Server } from "../server.ts";
import { NotFoundError } from "../../rpc/errors.ts";
import type { SessionApplyArgs } from "../../rpc/methods.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { MessageType, sessionGet, sessionList, sessionsOfNode, sessionTopic, Topic } from "../../state/mod.ts";
import type { Session } from "../../structs/session.ts";

export async function apply(s: Server, a: SessionApplyArgs): Promise<string> {
  if (a.Op === "create") {
    // The server picks the ID when the caller leaves it empty, as Consul's leader does.
    const body = a.Session.ID === "" ? { ...a.Session, ID: crypto.randomUUID() } : a.Session;
    await s.mustWrite({ Type: MessageType.Session, Now: s.clock.now(), Op: "create", Session: body });
    return body.ID;
  }
  await s.mustWrite({ Type: MessageType.Session, Now: s.clock.now(), Op: "destroy", ID: a.ID });
  return a.ID;
}

export function get(s: Server, a: { readonly SessionID: string }, o: RequestOptions): MaybePromise<QueryReply<Session[]>> {
  return blockingRead(s, o, () => [sessionTopic(a.SessionID)], () => sessionGet(s.state.t, a.SessionID));
}

export function list(s: Server, _a: unknown, o: RequestOptions): MaybePromise<QueryReply<Session[]>> {
  return blockingRead(s, o, () => [Topic.Sessions], () => sessionList(s.state.t));
}

export function nodeSessions(s: Server, a: { readonly Node: string }, o: RequestOptions): MaybePromise<QueryReply<Session[]>> {
  return blockingRead(s, o, () => [Topic.Sessions], () => sessionsOfNode(s.state.t, a.Node));
}

/** Renew re-arms the TTL timer only (on the leader, where the timers run); it is not a log write. */
export function renew(s: Server, a: { readonly SessionID: string }): MaybePromise<Session[]> {
  const session = sessionGet(s.state.t, a.SessionID).value[0];
  if (!session) throw new NotFoundError(`Session id '${a.SessionID}' not found`);
  if (s.isLeader()) {
    s.sessions.arm(session.ID, session.TTL);
    return [session];
  }
  return s.renewSession(session.ID, session.TTL).then(() => [session]);
}
