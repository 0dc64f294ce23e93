/** `/v1/session/*` (Consul's agent/session_endpoint.go and consul/session_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, readJson, reply } from "./context.ts";
import { HttpError } from "./errors.ts";
import { SERF_CHECK_ID } from "../structs/catalog.ts";
import { durationFromJson, formatGoDuration, parseGoDuration } from "../structs/duration.ts";
import { field, isObject } from "../structs/json.ts";
import { oversizedString, stringProblem } from "../structs/limits.ts";
import {
  DEFAULT_LOCK_DELAY_MS,
  MAX_LOCK_DELAY_MS,
  type ServiceCheckRef,
  type Session,
  SessionBehavior,
  sessionJson,
  SESSION_TTL_MAX_MS,
  SESSION_TTL_MIN_MS,
} from "../structs/session.ts";
import type { SessionCommandBody } from "../state/commands.ts";

function strings(v: unknown, what: string): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) throw new HttpError(400, `Request decode failed: ${what} must be a list of strings`);
  return v as string[];
}

function str(v: unknown, what: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") throw new HttpError(400, `Request decode failed: ${what} must be a string`);
  const problem = stringProblem(what.slice(what.lastIndexOf(".") + 1), v);
  if (problem !== null) throw new HttpError(400, `Request decode failed: ${problem}`);
  return v;
}

/** Decodes a create body the way Consul does, including its fix-ups. */
export function decodeSessionCreate(body: unknown, defaultNode: string, id: string): SessionCommandBody {
  if (body !== null && !isObject(body)) throw new HttpError(400, "Request decode failed: body must be a JSON object");
  const b = body ?? {};
  const tooBig = oversizedString(b, "");
  if (tooBig !== null) throw new HttpError(400, `Request decode failed: ${tooBig}`);
  let lockDelayMs = DEFAULT_LOCK_DELAY_MS;
  const ld = field(b, "LockDelay", "lock_delay");
  if (ld !== undefined && ld !== null) {
    // Consul reads a number as nanoseconds and a string as a Go duration, then
    // treats anything below 1000ns as seconds (users send `5` meaning 5s).
    const ms = durationFromJson(ld);
    if (ms === null) throw new HttpError(400, `Request decode failed: invalid LockDelay ${JSON.stringify(ld)}`);
    const ns = typeof ld === "number" ? ld : Math.round(ms * 1e6);
    lockDelayMs = Math.min(ns < 1000 ? ns * 1000 : ms, MAX_LOCK_DELAY_MS);
  }
  const behavior = str(field(b, "Behavior"), "Behavior") || SessionBehavior.Release;
  if (behavior !== SessionBehavior.Release && behavior !== SessionBehavior.Delete) {
    throw new HttpError(500, `Invalid Behavior setting '${behavior}'`);
  }
  const ttl = str(field(b, "TTL"), "TTL");
  if (ttl !== "") {
    const ms = parseGoDuration(ttl);
    // Consul answers these from its RPC layer as 500; they are the caller's mistake, so 400 with the same text.
    if (ms === null) throw new HttpError(400, `Session TTL '${ttl}' invalid: time: invalid duration "${ttl}"`);
    if (ms !== 0 && (ms < SESSION_TTL_MIN_MS || ms > SESSION_TTL_MAX_MS)) {
      throw new HttpError(400, `Invalid Session TTL '${Math.round(ms * 1e6)}', must be between [${formatGoDuration(SESSION_TTL_MIN_MS)}=${formatGoDuration(SESSION_TTL_MAX_MS)}]`);
    }
  }
  // Both lists default to serfHealth; then Consul's fixupEmptySessionChecks:
  // an empty Checks clears NodeChecks, a default-only Checks defers to
  // NodeChecks, an empty NodeChecks defers to Checks. The session watches both.
  const checksGiven = field(b, "Checks");
  const nodeChecksGiven = field(b, "NodeChecks", "node_checks");
  let checks = checksGiven === undefined ? [SERF_CHECK_ID] : strings(checksGiven, "Checks");
  let nodeChecks = nodeChecksGiven === undefined ? [SERF_CHECK_ID] : strings(nodeChecksGiven, "NodeChecks");
  if (checks.length === 0) nodeChecks = [];
  else if (checks.length === 1 && checks[0] === SERF_CHECK_ID) checks = [];
  else if (nodeChecks.length === 0) checks = [];
  nodeChecks = [...nodeChecks, ...checks];
  const svcRaw = field(b, "ServiceChecks", "service_checks");
  const serviceChecks: ServiceCheckRef[] = [];
  if (svcRaw !== undefined && svcRaw !== null) {
    if (!Array.isArray(svcRaw)) throw new HttpError(400, "Request decode failed: ServiceChecks must be a list");
    for (const s of svcRaw) {
      if (!isObject(s)) throw new HttpError(400, "Request decode failed: ServiceChecks entries must be objects");
      serviceChecks.push({ ID: str(field(s, "ID"), "ServiceChecks.ID"), Namespace: str(field(s, "Namespace"), "ServiceChecks.Namespace") });
    }
  }
  return {
    ID: id,
    Name: str(field(b, "Name"), "Name"),
    Node: str(field(b, "Node"), "Node") || defaultNode,
    LockDelayMs: lockDelayMs,
    Behavior: behavior,
    TTL: ttl,
    NodeChecks: [...new Set(nodeChecks)],
    ServiceChecks: serviceChecks,
  };
}

function sessionIdParam(c: Context): string {
  const id = c.req.param("id") ?? "";
  if (id === "") throw new HttpError(400, "Missing session");
  return id;
}

const list = (c: Context) => (rows: Session[], q: { pretty: boolean }) => json(c, rows.map(sessionJson), q);

export function sessionRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/session/create", async (c) => {
    const q = queryOptions(c, api);
    const body = decodeSessionCreate(await readJson(c), api.agent.nodeName, "");
    const id = await api.rpc.call("Session.Apply", { Op: "create", Session: body }, q);
    return json(c, { ID: id }, q);
  });

  app.put("/v1/session/destroy/:id", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("Session.Apply", { Op: "destroy", ID: sessionIdParam(c) }, q);
    return json(c, true, q);
  });

  // Renew is a plain RPC in Consul, not a blocking read: ?index/?wait never park it.
  app.put("/v1/session/renew/:id", async (c) => {
    const q = queryOptions(c, api);
    // An unknown session is a NotFoundError: 404 with Consul's text.
    const rows = await api.rpc.call("Session.Renew", { SessionID: sessionIdParam(c) }, q);
    return json(c, rows.map(sessionJson), q);
  });

  app.get("/v1/session/info/:id", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Session.Get", { SessionID: sessionIdParam(c) }, q), list(c));
  });

  app.get("/v1/session/node/:node", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Session.NodeSessions", { Node: c.req.param("node") }, q), list(c));
  });

  app.get("/v1/session/list", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("Session.List", {}, q), list(c));
  });
}
