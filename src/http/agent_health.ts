import { isPretty, jsonText, urlOf } from "./context.ts";
/**
 * Local service health (Consul's AgentHealthServiceByID/ByName): the HTTP
 * status carries the aggregate (200 passing, 429 warning, 503 critical or
 * maintenance), the body is JSON or, with `?format=text` or an Accept of
 * text/plain, just the status word.
 */
import type { Context, Hono } from "hono";
import { agentServiceJson, localAgent } from "./agent_local.ts";
import type { ApiContext } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { Agent } from "../agent/agent.ts";
import type { CheckDef, ServiceDef } from "../agent/local_state.ts";
import { NODE_MAINT_ID } from "../agent/maintenance.ts";

/** api.HealthCheckDefinition at its zero value, as the Go client marshals it. */
const ZERO_DEFINITION = {
  HTTP: "",
  Header: null,
  Method: "",
  Body: "",
  TLSServerName: "",
  TLSSkipVerify: false,
  TCP: "",
  TCPUseTLS: false,
  UDP: "",
  GRPC: "",
  OSService: "",
  GRPCUseTLS: false,
  Interval: "0s",
  Timeout: "0s",
  DeregisterCriticalServiceAfter: "0s",
} as const;

/** Consul copies only these fields into the api.HealthCheck it answers with. */
function apiCheck(c: CheckDef, node: string): Record<string, unknown> {
  return {
    Node: node,
    CheckID: c.CheckID,
    Name: c.Name,
    Status: c.Status,
    Notes: c.Notes,
    Output: c.Output,
    ServiceID: c.ServiceID,
    ServiceName: c.ServiceName,
    ServiceTags: c.ServiceTags ?? [],
    Type: "",
    ExposedPort: 0,
    Definition: ZERO_DEFINITION,
    CreateIndex: 0,
    ModifyIndex: 0,
  };
}

/** api.HealthChecks.AggregatedStatus: maintenance wins, then critical, warning, passing. */
export function aggregatedStatus(checks: readonly CheckDef[]): string {
  let maintenance = false;
  let critical = false;
  let warning = false;
  for (const c of checks) {
    if (c.CheckID === NODE_MAINT_ID || c.CheckID.startsWith("_service_maintenance:")) {
      maintenance = true;
      continue;
    }
    if (c.Status === "critical") critical = true;
    else if (c.Status === "warning") warning = true;
    else if (c.Status !== "passing") return "";
  }
  if (maintenance) return "maintenance";
  if (critical) return "critical";
  if (warning) return "warning";
  return "passing";
}

const codeFor = (status: string): 200 | 429 | 503 => (status === "passing" ? 200 : status === "warning" ? 429 : 503);

interface ServiceHealth {
  readonly code: 200 | 429 | 503;
  readonly status: string;
  readonly body: Record<string, unknown>;
}

/** The service's checks plus the node's own (maintenance included), as ChecksForService(id, true). */
function serviceHealth(agent: Agent, svc: ServiceDef, api: ApiContext): ServiceHealth {
  const checks = agent.local.liveChecks().filter((c) => c.ServiceID === svc.ID || c.ServiceID === "");
  checks.sort((a, b) => (a.CheckID < b.CheckID ? -1 : a.CheckID > b.CheckID ? 1 : 0));
  const status = aggregatedStatus(checks);
  return {
    code: codeFor(status),
    status,
    body: {
      AggregatedStatus: status,
      Service: agentServiceJson(svc, api.agent.datacenter),
      Checks: checks.map((c) => apiCheck(c, api.agent.nodeName)),
    },
  };
}

function wantsText(c: Context): boolean {
  if ((c.req.header("accept") ?? "").startsWith("text/plain")) return true;
  const format = urlOf(c).searchParams.get("format");
  return format !== null && format !== "" ? format === "text" : false;
}

function answer(c: Context, code: number, text: string, body: unknown): Response {
  if (wantsText(c)) return c.body(text, code as 200, { "Content-Type": "text/plain" });
  return c.body(jsonText(body, isPretty(c)), code as 200, { "Content-Type": "application/json" });
}

export function agentHealthRoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/health/service/id/:id{.+}", (c) => {
    const agent = localAgent(api);
    const id = c.req.param("id");
    const svc = agent.local.service(id);
    if (!svc) {
      return answer(c, 404, `ServiceId ${id} not found`, { AggregatedStatus: "critical", Service: null, Checks: null });
    }
    const h = serviceHealth(agent, svc, api);
    return answer(c, h.code, h.status, h.body);
  });

  app.get("/v1/agent/health/service/name/:name{.+}", (c) => {
    const agent = localAgent(api);
    const name = c.req.param("name");
    let code = 404;
    let status = `ServiceName ${name} Not Found`;
    const results: Record<string, unknown>[] = [];
    const services = agent.local.liveServices().filter((s) => s.Service === name);
    services.sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0));
    for (const svc of services) {
      const h = serviceHealth(agent, svc, api);
      results.push(h.body);
      // The worst instance decides: passing 200 < warning 429 < critical 503.
      if (code === 404 || code < h.code) {
        code = h.code;
        status = h.status;
      }
    }
    return answer(c, code, status, results);
  });

  app.get("/v1/agent/health/service/id/", () => {
    throw new HttpError(400, "Missing serviceID");
  });
  app.get("/v1/agent/health/service/name/", () => {
    throw new HttpError(400, "Missing service Name");
  });
}
