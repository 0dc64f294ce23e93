/**
 * The agent's own checks (Consul's AgentChecks, AgentRegisterCheck,
 * AgentDeregisterCheck and the TTL updates pass/warn/fail/update).
 */
import type { Hono } from "hono";
import { agentCheckJson, localAgent, waitLocal } from "./agent_local.ts";
import { syncChanges } from "./agent_services.ts";
import { type ApiContext, applyFilter, json, queryOptions, readJson, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import { decodeCheckDefinition, validateCheckDefinition } from "../agent/checks/mod.ts";
import { LocalTopic } from "../agent/local_state.ts";
import { healthCheckSchema } from "../filter/mod.ts";
import { field, isObject } from "../structs/json.ts";

const STATUSES = ["passing", "warning", "critical"] as const;
type Status = (typeof STATUSES)[number];
const isStatus = (s: unknown): s is Status => typeof s === "string" && (STATUSES as readonly string[]).includes(s);

/** Go's encoding/json name for a JSON value, for "cannot unmarshal" messages. */
function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

export function agentCheckRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/checks", async (c) => {
    const agent = localAgent(api);
    const q = queryOptions(c, api);
    if (q.minIndex > 0) {
      await waitLocal(agent.local.hub, [LocalTopic.Checks], q.waitMs, () => agent.local.generation + 1 > q.minIndex, () => agent.isStopped);
    }
    const node = api.agent.nodeName;
    const checks = agent.local
      .liveChecks()
      .sort((a, b) => (a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0))
      .map((ch) => agentCheckJson(ch, node));
    const shown = applyFilter(checks, q, healthCheckSchema);
    // generation starts at 0; the index never is.
    c.header("X-Consul-Index", String(agent.local.generation + 1));
    return json(c, Object.fromEntries(shown.map((ch) => [ch.CheckID as string, ch])), q);
  });

  app.put("/v1/agent/check/register", async (c) => {
    const agent = localAgent(api);
    const body = await readJson(c);
    if (body === null) throw new HttpError(400, "Request decode failed: EOF");
    // Consul's order: decode, name, status, CheckType.Validate, then the service it belongs to.
    const def = decodeCheckDefinition(body, { validate: false });
    if (def.Name === "") throw new HttpError(400, "Missing check name");
    if (def.Status !== "" && !isStatus(def.Status)) throw new HttpError(400, "Bad check status");
    validateCheckDefinition(def);
    if (def.ServiceID !== "" && !agent.local.service(def.ServiceID)) {
      throw new HttpError(404, `ServiceID ${JSON.stringify(def.ServiceID)} does not exist`);
    }
    agent.registerCheck(body);
    await syncChanges(agent);
    return c.body(null, 200);
  });

  app.put("/v1/agent/check/deregister/:id{.+}", async (c) => {
    const agent = localAgent(api);
    agent.deregisterCheck(c.req.param("id"));
    await syncChanges(agent);
    return c.body(null, 200);
  });

  const ttl = (verb: string, status: Status) =>
    app.put(`/v1/agent/check/${verb}/:id{.+}`, async (c) => {
      const agent = localAgent(api);
      agent.updateTtl(c.req.param("id"), status, urlOf(c).searchParams.get("note") ?? "");
      await syncChanges(agent);
      return c.body(null, 200);
    });
  ttl("pass", "passing");
  ttl("warn", "warning");
  ttl("fail", "critical");

  app.put("/v1/agent/check/update/:id{.+}", async (c) => {
    const agent = localAgent(api);
    const body = await readJson(c);
    if (body === null) throw new HttpError(400, "Request decode failed: EOF");
    if (!isObject(body)) {
      throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${jsonKind(body)} into Go value of type agent.checkUpdate`);
    }
    const status = field(body, "Status");
    const output = field(body, "Output");
    for (const [name, v] of [["Status", status], ["Output", output]] as const) {
      if (v !== undefined && v !== null && typeof v !== "string") {
        throw new HttpError(400, `Request decode failed: json: cannot unmarshal ${jsonKind(v)} into Go struct field checkUpdate.${name} of type string`);
      }
    }
    if (!isStatus(status)) throw new HttpError(400, `Invalid check status: '${typeof status === "string" ? status : ""}'`);
    agent.updateTtl(c.req.param("id"), status, typeof output === "string" ? output : "");
    await syncChanges(agent);
    return c.body(null, 200);
  });

  for (const verb of ["deregister", "pass", "warn", "fail", "update"]) {
    app.put(`/v1/agent/check/${verb}/`, async () => {
      throw new HttpError(404, `Unknown check ID "". Ensure that the check ID is passed, not the check name.`);
    });
  }
}
