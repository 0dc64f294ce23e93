/**
 * User events (Consul's EventFire and EventList). The list's X-Consul-Index
 * is not a raft index but Consul's IDToIndex of the newest event, a uint64
 * kept exact as a bigint; a blocking list waits while that index still
 * equals the client's, since it is not monotonic.
 */
import type { Context, Hono } from "hono";
import { localAgent } from "./agent_local.ts";
import { type ApiContext, checkDatacenter, json, readBytes, tokenOf, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { encodeUserEvent, EVENT_TOPIC, eventIdToIndex, SERF_NAME_PREFIX, type UserEvent } from "../agent/user_event.ts";
import { defaultOptions } from "../rpc/mod.ts";
import { MAX_WAIT_MS } from "../server/mod.ts";
import { parseGoDuration } from "../structs/duration.ts";
import { encodeBase64 } from "../structs/json.ts";

/** Bodies past this are refused before serf's much smaller event limit is even checked. */
const MAX_FIRE_BODY = 1024 * 1024;

export function userEventJson(e: UserEvent): Record<string, unknown> {
  return {
    ID: e.ID,
    Name: e.Name,
    Payload: e.Payload === null ? null : encodeBase64(e.Payload),
    NodeFilter: e.NodeFilter,
    ServiceFilter: e.ServiceFilter,
    TagFilter: e.TagFilter,
    Version: e.Version,
    LTime: e.LTime,
  };
}

/** Consul's parseWait for the event list: index is any uint64, wait a Go duration. */
function parseWait(c: Context): { index: bigint; waitMs: number } {
  const p = urlOf(c).searchParams;
  let waitMs = 0;
  const wait = p.get("wait");
  if (wait !== null && wait !== "") {
    const ms = parseGoDuration(wait);
    if (ms === null) throw new HttpError(400, "Invalid wait time");
    waitMs = ms;
  }
  let index = 0n;
  const raw = p.get("index");
  if (raw !== null && raw !== "") {
    if (!/^\d+$/.test(raw) || BigInt(raw) >= 1n << 64n) throw new HttpError(400, "Invalid index");
    index = BigInt(raw);
  }
  return { index, waitMs };
}

export function eventRoutes(app: Hono, api: ApiContext): void {
  app.put("/v1/event/fire/:name{.+}", async (c) => {
    const agent = localAgent(api);
    const p = urlOf(c).searchParams;
    const dc = p.get("dc") || api.agent.datacenter;
    if (dc !== api.agent.datacenter && !api.lan) checkDatacenter(api, dc);
    const payload = await readBytes(c, MAX_FIRE_BODY, (n) => `Request body too large, max size: ${MAX_FIRE_BODY} bytes (got ${n})`);
    const req = {
      name: c.req.param("name"),
      payload: payload.length > 0 ? new Uint8Array(payload) : null,
      nodeFilter: p.get("node") ?? "",
      serviceFilter: p.get("service") ?? "",
      tagFilter: p.get("tag") ?? "",
    };
    if (!api.lan) return json(c, userEventJson(agent.events.fire(req)));
    // With gossip, a server of the target datacenter broadcasts it on its LAN pool (Consul's Internal.EventFire).
    // With gossip, a server broadcasts it (Consul's Internal.EventFire) and every agent, this one included, takes it from the pool.
    const event = agent.events.prepare(req);
    await api.rpc.call("Internal.EventFire", { Name: SERF_NAME_PREFIX + event.Name, Payload: encodeUserEvent(event) }, { ...defaultOptions(dc), token: tokenOf(c) });
    return json(c, userEventJson(event));
  });

  app.put("/v1/event/fire/", () => {
    throw new HttpError(400, "Missing name");
  });

  app.get("/v1/event/list", async (c) => {
    const agent = localAgent(api);
    const { index: minIndex, waitMs } = parseWait(c);
    const name = urlOf(c).searchParams.get("name") ?? "";
    const run = () => {
      const events = agent.events.list().filter((e) => name === "" || e.Name === name);
      // An empty list answers 1, which keeps a watcher from spinning.
      const index = events.length === 0 ? 1n : eventIdToIndex(events[events.length - 1]!.ID);
      return { events, index };
    };
    let result = run();
    if (minIndex > 0n && result.index === minIndex) {
      const wait = waitMs <= 0 || waitMs > MAX_WAIT_MS ? MAX_WAIT_MS : waitMs;
      const deadline = Date.now() + wait;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), wait)));
      try {
        while (result.index === minIndex && Date.now() < deadline && !agent.isStopped) {
          const fired = await Promise.race([agent.events.hub.wait(EVENT_TOPIC).then(() => true), timeout]);
          result = run();
          if (!fired) break;
        }
      } finally {
        clearTimeout(timer);
      }
    }
    c.header("X-Consul-Index", result.index.toString());
    return json(c, result.events.map(userEventJson));
  });
}
