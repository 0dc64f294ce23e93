/** Sessions (`/v1/session`), as the Go client's `api.Session`. */
import type { Client } from "./client.ts";
import { durationToMsec, parseDuration } from "./duration.ts";
import { SessionExpiredError } from "./errors.ts";
import { encodeJson } from "./json.ts";
import type { QueryMeta, QueryOptions, WriteOptions } from "./options.ts";
import { sleep } from "./sleep.ts";
import { asArray } from "./types.ts";

export const SessionBehavior = { Release: "release", Delete: "delete" } as const;
export type SessionBehavior = (typeof SessionBehavior)[keyof typeof SessionBehavior];

export interface ServiceCheck {
  ID: string;
  Namespace?: string;
}

/** A session as the agent reports it; `LockDelay` is in nanoseconds. */
export interface SessionEntry {
  ID: string;
  Name: string;
  Node: string;
  LockDelay: number;
  Behavior: SessionBehavior;
  TTL: string;
  NodeChecks: string[] | null;
  ServiceChecks: ServiceCheck[] | null;
  Checks?: string[] | null;
  Namespace?: string;
  Partition?: string;
  CreateIndex: number;
  ModifyIndex: number;
}

/** What `create` sends; unset fields take the agent's defaults. */
export interface SessionRequest {
  Name?: string;
  Node?: string;
  /** Milliseconds, or a Go duration string such as "15s". */
  LockDelay?: number | string;
  Checks?: string[];
  NodeChecks?: string[];
  ServiceChecks?: ServiceCheck[];
  Behavior?: SessionBehavior;
  /** Go duration string, between 10s and 24h. */
  TTL?: string;
}

export class Session {
  private readonly c: Client;

  constructor(c: Client) {
    this.c = c;
  }

  /** Creates a session; returns its ID. */
  async create(entry?: SessionRequest, w?: WriteOptions): Promise<string> {
    return this.createWith(entry === undefined ? undefined : body(entry, false), w);
  }

  /** Creates a session with no health checks at all (`"Checks": []`), so only TTL or destroy ends it. */
  async createNoChecks(entry?: SessionRequest, w?: WriteOptions): Promise<string> {
    return this.createWith(body(entry ?? {}, true), w);
  }

  /** Invalidates a session; idempotent. */
  async destroy(id: string, w?: WriteOptions): Promise<void> {
    await this.c.write("PUT", `/v1/session/destroy/${id}`, undefined, w);
  }

  /** Renews a TTL session; `null` when the session no longer exists. */
  async renew(id: string, w?: WriteOptions): Promise<SessionEntry | null> {
    const request = { method: "PUT", path: `/v1/session/renew/${id}`, write: w ?? {} } as const;
    const response = await this.c.send(request);
    if (response.status === 404) return null;
    this.c.requireStatus(request, response);
    return asArray<SessionEntry>(this.c.decode(request, response))[0] ?? null;
  }

  /**
   * Renews every TTL/2 until `signal` aborts, then destroys the session.
   * Rejects with `SessionExpiredError` when the session is gone, or with the
   * last error when renewals kept failing for a whole TTL.
   */
  async renewPeriodic(initialTTL: string, id: string, options: { signal: AbortSignal; write?: WriteOptions }): Promise<void> {
    let ttl = parseDuration(initialTTL);
    let waitFor = ttl / 2;
    let lastRenew = performance.now();
    let lastError: unknown = undefined;
    for (;;) {
      if (performance.now() - lastRenew > ttl) throw lastError;
      if (!(await sleep(waitFor, options.signal))) {
        await this.destroy(id, options.write).catch(() => undefined);
        return;
      }
      let entry: SessionEntry | null;
      try {
        entry = await this.renew(id, options.write);
      } catch (err) {
        waitFor = 1000;
        lastError = err;
        continue;
      }
      if (entry === null) throw new SessionExpiredError(id);
      ttl = entry.TTL ? parseDuration(entry.TTL) : ttl;
      waitFor = ttl / 2;
      lastRenew = performance.now();
    }
  }

  /** One session, or `null` when unknown. */
  async info(id: string, q?: QueryOptions): Promise<[SessionEntry | null, QueryMeta]> {
    const [list, meta] = await this.c.query(`/v1/session/info/${id}`, q, (j) => asArray<SessionEntry>(j));
    return [list[0] ?? null, meta];
  }

  /** Sessions belonging to a node. */
  async node(node: string, q?: QueryOptions): Promise<[SessionEntry[], QueryMeta]> {
    return this.c.query(`/v1/session/node/${node}`, q, (j) => asArray<SessionEntry>(j));
  }

  /** All active sessions. */
  async list(q?: QueryOptions): Promise<[SessionEntry[], QueryMeta]> {
    return this.c.query("/v1/session/list", q, (j) => asArray<SessionEntry>(j));
  }

  private async createWith(payload: Record<string, unknown> | undefined, w?: WriteOptions): Promise<string> {
    const out = (await this.c.write("PUT", "/v1/session/create", payload === undefined ? undefined : encodeJson(payload), w)) as {
      ID?: unknown;
    } | null;
    return typeof out?.ID === "string" ? out.ID : "";
  }
}

/** Only the fields that are set, as the Go client builds its request map. */
function body(entry: SessionRequest, noChecks: boolean): Record<string, unknown> {
  const b: Record<string, unknown> = {};
  if (noChecks) b.Checks = [];
  if (entry.Name) b.Name = entry.Name;
  if (entry.Node) b.Node = entry.Node;
  if (entry.LockDelay !== undefined && entry.LockDelay !== 0 && entry.LockDelay !== "") {
    b.LockDelay = typeof entry.LockDelay === "number" ? durationToMsec(entry.LockDelay) : entry.LockDelay;
  }
  if (!noChecks && entry.Checks && entry.Checks.length > 0) b.Checks = entry.Checks;
  if (entry.NodeChecks && entry.NodeChecks.length > 0) b.NodeChecks = entry.NodeChecks;
  if (entry.ServiceChecks && entry.ServiceChecks.length > 0) b.ServiceChecks = entry.ServiceChecks;
  if (entry.Behavior) b.Behavior = entry.Behavior;
  if (entry.TTL) b.TTL = entry.TTL;
  return b;
}
