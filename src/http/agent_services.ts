/**
 * The agent's own services (Consul's AgentServices, AgentService,
 * AgentRegisterService, AgentDeregisterService, AgentServiceMaintenance).
 * Writes answer once anti-entropy has pushed them, as Consul's handlers sync
 * before answering.
 */
import type { Context, Hono } from "hono";
import { agentServiceJson, contentHash, localAgent, waitLocal } from "./agent_local.ts";
import { type ApiContext, applyFilter, json, queryOptions, readJson, urlOf } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { Agent } from "../agent/agent.ts";
import { LocalTopic } from "../agent/local_state.ts";
import { agentServiceSchema } from "../filter/mod.ts";
import { field, isObject } from "../structs/json.ts";

const SYNC_WAIT_MS = 5_000;

/** Waits (bounded) until the change is in the catalog; a failed push is retried by anti-entropy. */
export async function syncChanges(agent: Agent): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([agent.ae.settled(), new Promise<void>((r) => (timer = setTimeout(r, SYNC_WAIT_MS)))]);
  clearTimeout(timer);
}

/** Go's strconv.ParseBool. */
export function parseGoBool(raw: string): boolean | null {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(raw)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(raw)) return false;
  return null;
}

/** `?enable=` of the maintenance endpoints: required, and a Go bool. */
export function enableParam(c: Context): boolean {
  const raw = urlOf(c).searchParams.get("enable");
  if (raw === null) throw new HttpError(400, "Missing value for enable");
  const enable = parseGoBool(raw);
  if (enable === null) throw new HttpError(400, `Invalid value for enable: ${JSON.stringify(raw)}`);
  return enable;
}

const VALID_STATUS = new Set(["passing", "warning", "critical"]);
const ANY_ADDRESS = new Set(["0.0.0.0", "::", "[::]"]);

/** The checks that Consul validates in the handler, before the agent sees the registration. */
function precheckRegistration(body: unknown): void {
  if (!isObject(body)) return;
  const address = field(body, "Address");
  if (typeof address === "string" && ANY_ADDRESS.has(address)) throw new HttpError(400, "Invalid service address");
  const checks: unknown[] = [];
  const one = field(body, "Check");
  if (isObject(one)) checks.push(one);
  const many = field(body, "Checks");
  if (Array.isArray(many)) checks.push(...many);
  for (const c of checks) {
    const status = isObject(c) ? field(c, "Status") : undefined;
    if (typeof status === "string" && status !== "" && !VALID_STATUS.has(status)) {
      throw new HttpError(400, "Status for checks must 'passing', 'warning', 'critical'");
    }
  }
}

export function agentServiceRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/services", async (c) => {
    const agent = localAgent(api);
    const q = queryOptions(c, api);
    if (q.minIndex > 0) {
      await waitLocal(agent.local.hub, [LocalTopic.Services], q.waitMs, () => agent.local.generation + 1 > q.minIndex, () => agent.isStopped);
    }
    const services = agent.local.liveServices().sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    const shown = applyFilter(
      services.map((s) => agentServiceJson(s, api.agent.datacenter)),
      q,
      agentServiceSchema,
    );
    // generation starts at 0; the index never is.
    c.header("X-Consul-Index", String(agent.local.generation + 1));
    return json(c, Object.fromEntries(shown.map((s) => [s.ID as string, s])), q);
  });

  app.get("/v1/agent/service/:id{.+}", async (c) => {
    const agent = localAgent(api);
    const id = c.req.param("id");
    const q = queryOptions(c, api);
    const hash = urlOf(c).searchParams.get("hash") ?? "";
    const current = () => {
      const svc = agent.local.service(id);
      if (!svc) throw new HttpError(404, `unknown service ID: ${id}`);
      const reply = agentServiceJson(svc, api.agent.datacenter);
      const h = contentHash(reply);
      return { hash: h, reply: agentServiceJson(svc, api.agent.datacenter, h) };
    };
    let result = current();
    if (hash !== "" && result.hash === hash) {
      await waitLocal(agent.local.hub, [LocalTopic.Services], q.waitMs, () => current().hash !== hash, () => agent.isStopped);
      result = current();
    }
    c.header("X-Consul-ContentHash", result.hash);
    return json(c, result.reply, q);
  });

  app.put("/v1/agent/service/register", async (c) => {
    const agent = localAgent(api);
    const body = await readJson(c);
    if (body === null) throw new HttpError(400, "Request decode failed: EOF");
    precheckRegistration(body);
    const p = urlOf(c).searchParams;
    const replace = p.has("replace-existing-checks") && ["", "true"].includes(p.get("replace-existing-checks") ?? "");
    agent.registerService(body, { replaceExistingChecks: replace });
    await syncChanges(agent);
    return c.body(null, 200);
  });

  app.put("/v1/agent/service/deregister/:id{.+}", async (c) => {
    const agent = localAgent(api);
    agent.deregisterService(c.req.param("id"));
    await syncChanges(agent);
    return c.body(null, 200);
  });

  app.put("/v1/agent/service/maintenance/:id{.+}", async (c) => {
    const agent = localAgent(api);
    const enable = enableParam(c);
    const reason = urlOf(c).searchParams.get("reason") ?? "";
    agent.setServiceMaintenance(c.req.param("id"), enable, reason);
    await syncChanges(agent);
    return c.body(null, 200);
  });

  app.put("/v1/agent/service/maintenance/", () => {
    throw new HttpError(400, "Missing service ID");
  });
  app.put("/v1/agent/service/deregister/", () => {
    localAgent(api).deregisterService("");
    return new Response(null);
  });
}
