/** `/v1/query` (Consul's agent/prepared_query_endpoint.go). */
import type { Context, Hono } from "hono";
import { type ApiContext, json, queryOptions, readJson, reply, setMeta, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { cachedCall } from "./cached.ts";
import { parseBoolParam, type QueryOptions } from "./query.ts";
import { nodeJson, nodeServiceJson } from "./render.ts";
import { type AddressView, addressView } from "./translate_addrs.ts";
import type { ExecuteArgs, ExecuteReply } from "../query/execute.ts";
import { isPromise, type MaybePromise, type QueryReply } from "../rpc/mod.ts";
import { decodePreparedQuery, type PreparedQuery, preparedQueryJson } from "../structs/prepared_query.ts";

/** Request bodies of a query definition are small; this bounds what a client can make us parse. */
const MAX_BODY = 512 * 1024;

/**
 * The client address for `near=_ip`: the first X-Forwarded-For entry, else
 * the socket's peer (the runtime adapter passes it as `env.remoteAddress`).
 */
function sourceIp(c: Context): string {
  const xff = c.req.header("x-forwarded-for");
  if (xff) return xff.split(",")[0]!.trim();
  const env = c.env as { remoteAddress?: () => string } | undefined;
  return env?.remoteAddress?.() ?? "";
}

function parseLimit(url: URL): number {
  const raw = url.searchParams.get("limit");
  if (raw === null || raw === "") return 0;
  if (!/^[+-]?\d+$/.test(raw) || !Number.isSafeInteger(Number(raw))) {
    throw new HttpError(500, `Bad limit: strconv.Atoi: parsing ${JSON.stringify(raw)}: invalid syntax`);
  }
  return Number(raw);
}

function executeArgs(c: Context, api: ApiContext, id: string): ExecuteArgs {
  const url = urlOf(c);
  const near = url.searchParams.get("near") ?? "";
  return {
    QueryIDOrName: id,
    Limit: parseLimit(url),
    Connect: parseBoolParam(url.searchParams.get("connect"), "connect"),
    Source: { Node: near, Ip: near === "_ip" ? sourceIp(c) : "" },
    Agent: { Node: api.agent.nodeName, Datacenter: api.agent.datacenter, Segment: "" },
  };
}

/** QueryMeta is embedded in Consul's execute and explain replies, so it is part of their JSON too. */
function metaFields(r: QueryReply<unknown>, q: QueryOptions): Record<string, unknown> {
  return {
    Index: Math.max(1, r.index),
    LastContact: r.lastContact ?? 0,
    KnownLeader: r.knownLeader !== false,
    ConsistencyLevel: q.consistency === "default" ? "leader" : q.consistency,
    NotModified: false,
    Backend: 0,
  };
}

export function executeJson(r: QueryReply<ExecuteReply>, q: QueryOptions, view: AddressView): Record<string, unknown> {
  const v = r.value;
  return {
    Service: v.Service,
    Nodes: v.Nodes.map((n) => ({ Node: nodeJson(view.node(n.Node)), Service: nodeServiceJson(view.service(n.Service)), Checks: n.Checks })),
    DNS: v.DNS,
    Datacenter: v.Datacenter,
    PeerName: v.PeerName,
    Failovers: v.Failovers,
    ...metaFields(r, q),
  };
}

/** Writes a whole reply (meta headers and a body built from the reply and its meta). */
function whole<T>(c: Context, q: QueryOptions, r: MaybePromise<QueryReply<T>>, body: (r: QueryReply<T>) => unknown): Response | Promise<Response> {
  const done = (res: QueryReply<T>) => {
    setMeta(c, res, q);
    return json(c, body(res), q);
  };
  return isPromise(r) ? r.then(done) : done(r);
}

/** The ACL layer decides who may see a query's token; until it does, everyone may (as with ACLs off in Consul). */
const shown = (query: PreparedQuery): Record<string, unknown> => preparedQueryJson(query);

async function definition(c: Context): Promise<PreparedQuery> {
  return decodePreparedQuery(await readJson(c, MAX_BODY));
}

function idParam(c: Context): string {
  return c.req.param("id") ?? "";
}

export function preparedQueryRoutes(app: Hono, api: ApiContext): void {
  app.post("/v1/query", async (c) => {
    const q = queryOptions(c, api);
    const query = await definition(c);
    const id = await api.rpc.call("PreparedQuery.Apply", { Op: "create", Query: query }, q);
    return json(c, { ID: id }, q);
  });

  app.get("/v1/query", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("PreparedQuery.List", {}, q), (rows, q) => json(c, rows.map(shown), q));
  });

  app.get("/v1/query/:id/execute", (c) => {
    const q = queryOptions(c, api);
    const r = cachedCall(c, api, q, "PreparedQuery.Execute", executeArgs(c, api, idParam(c)));
    return whole(c, q, r, (res) => executeJson(res, q, addressView(api, res.value.Datacenter)));
  });

  app.get("/v1/query/:id/explain", (c) => {
    const q = queryOptions(c, api);
    const r = api.rpc.call("PreparedQuery.Explain", executeArgs(c, api, idParam(c)), q);
    return whole(c, q, r, (res) => ({ Query: shown(res.value), ...metaFields(res, q) }));
  });

  app.get("/v1/query/:id", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, api.rpc.call("PreparedQuery.Get", { QueryID: idParam(c) }, q), (rows, q) => json(c, rows.map(shown), q));
  });

  app.put("/v1/query/:id", async (c) => {
    const q = queryOptions(c, api);
    const body = await readJson(c, MAX_BODY);
    // The ID comes from the URL, not the body.
    const query = { ...decodePreparedQuery(body), ID: idParam(c) };
    await api.rpc.call("PreparedQuery.Apply", { Op: "update", Query: query }, q);
    return c.body(null, 200);
  });

  app.delete("/v1/query/:id", async (c) => {
    const q = queryOptions(c, api);
    await api.rpc.call("PreparedQuery.Apply", { Op: "delete", Query: { ...decodePreparedQuery(null), ID: idParam(c) } }, q);
    return c.body(null, 200);
  });
}
