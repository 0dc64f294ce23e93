/**
 * ACLs at the HTTP layer, in one table: the agent-local endpoints (those the
 * agent answers itself, without a server RPC) and what each requires or
 * hides. Everything that reaches a server is checked there (see
 * server/endpoints/acl_enforce.ts) with the token this middleware attaches.
 */
import type { Context } from "hono";
import { ANONYMOUS_TOKEN_ID, type Authorizer, PermissionDeniedError, type Level, type Resource } from "../acl/mod.ts";
import type { ApiContext } from "./context.ts";
import { isPromise } from "../rpc/mod.ts";

interface Guard {
  readonly authz: Authorizer;
  readonly api: ApiContext;
  readonly c: Context;
  readonly node: string;
}

interface RouteRule {
  readonly method: string;
  readonly path: RegExp;
  readonly check?: (g: Guard, m: RegExpMatchArray) => void | Promise<void>;
  /** Rewrites a JSON answer to what the token may see; true in `dropped` when it hid something. */
  readonly filter?: (a: Authorizer, body: unknown, dropped: { value: boolean }) => unknown;
}

function demand(a: Authorizer, resource: Resource, level: Level, name = ""): void {
  if (!a.allowed(resource, level, name)) throw new PermissionDeniedError(a.accessorId, resource, level, name);
}

const decode = (s: string | undefined): string => {
  try {
    return decodeURIComponent(s ?? "");
  } catch {
    return s ?? "";
  }
};

const localServiceName = (g: Guard, id: string): string => g.api.localAgent?.local.service(id)?.Service ?? id;

function checkWrite(g: Guard, checkId: string): void {
  const c = g.api.localAgent?.local.check(checkId)?.check;
  if (c?.ServiceName) demand(g.authz, "service", "write", c.ServiceName);
  else demand(g.authz, "node", "write", g.node);
}

async function body(c: Context): Promise<Record<string, unknown>> {
  try {
    const v: unknown = await c.req.raw.clone().json();
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {}; // the handler reports the bad body
  }
}

const field = (o: Record<string, unknown>, ...names: string[]): unknown => {
  for (const n of names) if (o[n] !== undefined) return o[n];
  return undefined;
};

function filterMap(ok: (v: Record<string, unknown>) => boolean) {
  return (_a: Authorizer, b: unknown, dropped: { value: boolean }): unknown => {
    if (typeof b !== "object" || b === null || Array.isArray(b)) return b;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(b)) {
      if (ok(v as Record<string, unknown>)) out[k] = v;
      else dropped.value = true;
    }
    return out;
  };
}

function filterList(ok: (v: Record<string, unknown>) => boolean) {
  return (_a: Authorizer, b: unknown, dropped: { value: boolean }): unknown => {
    if (!Array.isArray(b)) return b;
    const out = b.filter((v) => ok(v as Record<string, unknown>));
    if (out.length !== b.length) dropped.value = true;
    return out;
  };
}

export const AGENT_ROUTES: readonly RouteRule[] = [
  { method: "GET", path: /^\/v1\/agent\/(self|metrics|monitor)$/, check: (g) => demand(g.authz, "agent", "read", g.node) },
  { method: "GET", path: /^\/v1\/agent\/host$/, check: (g) => demand(g.authz, "operator", "read") },
  { method: "PUT", path: /^\/v1\/agent\/(reload|leave)$/, check: (g) => demand(g.authz, "agent", "write", g.node) },
  { method: "PUT", path: /^\/v1\/agent\/join\//, check: (g) => demand(g.authz, "agent", "write", g.node) },
  { method: "PUT", path: /^\/v1\/agent\/force-leave\//, check: (g) => demand(g.authz, "operator", "write") },
  { method: "PUT", path: /^\/v1\/agent\/maintenance$/, check: (g) => demand(g.authz, "node", "write", g.node) },
  { method: "PUT", path: /^\/v1\/agent\/token\//, check: (g) => demand(g.authz, "agent", "write", g.node) },
  {
    method: "GET",
    path: /^\/v1\/agent\/members$/,
    filter: (a, b, d) => filterList((m) => a.allowed("node", "read", String(m.Name)))(a, b, d),
  },
  {
    method: "GET",
    path: /^\/v1\/agent\/services$/,
    filter: (a, b, d) => filterMap((s) => a.allowed("service", "read", String(s.Service)))(a, b, d),
  },
  {
    method: "GET",
    path: /^\/v1\/agent\/checks$/,
    filter: (a, b, d) => filterMap((c) => (c.ServiceName ? a.allowed("service", "read", String(c.ServiceName)) : a.allowed("node", "read", String(c.Node))))(a, b, d),
  },
  { method: "GET", path: /^\/v1\/agent\/service\/(.+)$/, check: (g, m) => demand(g.authz, "service", "read", localServiceName(g, decode(m[1]))) },
  {
    method: "PUT",
    path: /^\/v1\/agent\/service\/register$/,
    check: async (g) => {
      const b = await body(g.c);
      const name = String(field(b, "Name", "name", "Service") ?? "");
      demand(g.authz, "service", "write", name);
      const proxy = field(b, "Proxy", "proxy") as Record<string, unknown> | undefined;
      const dest = proxy ? field(proxy, "DestinationServiceName", "destination_service_name") : undefined;
      if (typeof dest === "string" && dest !== "") demand(g.authz, "service", "write", dest);
      const connect = field(b, "Connect", "connect") as Record<string, unknown> | undefined;
      const sidecar = connect ? field(connect, "SidecarService", "sidecar_service") : undefined;
      if (sidecar !== undefined && sidecar !== null) {
        const sidecarName = field(sidecar as Record<string, unknown>, "Name", "name");
        demand(g.authz, "service", "write", typeof sidecarName === "string" && sidecarName ? sidecarName : `${name}-sidecar-proxy`);
      }
    },
  },
  { method: "PUT", path: /^\/v1\/agent\/service\/(deregister|maintenance)\/(.+)$/, check: (g, m) => demand(g.authz, "service", "write", localServiceName(g, decode(m[2]))) },
  {
    method: "PUT",
    path: /^\/v1\/agent\/check\/register$/,
    check: async (g) => {
      const b = await body(g.c);
      const sid = field(b, "ServiceID", "service_id");
      if (typeof sid === "string" && sid !== "") demand(g.authz, "service", "write", localServiceName(g, sid));
      else demand(g.authz, "node", "write", g.node);
    },
  },
  { method: "PUT", path: /^\/v1\/agent\/check\/(pass|warn|fail|update|deregister)\/(.+)$/, check: (g, m) => checkWrite(g, decode(m[2])) },
  { method: "GET", path: /^\/v1\/agent\/health\/service\/name\/(.+)$/, check: (g, m) => demand(g.authz, "service", "read", decode(m[1])) },
  { method: "GET", path: /^\/v1\/agent\/health\/service\/id\/(.+)$/, check: (g, m) => demand(g.authz, "service", "read", localServiceName(g, decode(m[1]))) },
  { method: "GET", path: /^\/v1\/agent\/connect\/ca\/leaf\/(.+)$/, check: (g, m) => demand(g.authz, "service", "write", decode(m[1])) },
  {
    method: "POST",
    path: /^\/v1\/agent\/connect\/authorize$/,
    check: async (g) => demand(g.authz, "service", "write", String(field(await body(g.c), "Target") ?? "")),
  },
  { method: "PUT", path: /^\/v1\/event\/fire\/(.+)$/, check: (g, m) => demand(g.authz, "event", "write", decode(m[1])) },
  {
    method: "GET",
    path: /^\/v1\/event\/list$/,
    filter: (a, b, d) => filterList((e) => a.allowed("event", "read", String(e.Name)))(a, b, d),
  },
];

/** The rule for a request, if the agent answers it itself. */
export function agentRouteRule(method: string, path: string): { rule: RouteRule; match: RegExpMatchArray } | null {
  for (const rule of AGENT_ROUTES) {
    if (rule.method !== method) continue;
    const match = path.match(rule.path);
    if (match) return { rule, match };
  }
  return null;
}

/**
 * Checks an agent-local request; answers the filter to apply to its JSON
 * answer, if any. Resolving the token also refuses unknown secrets here.
 */
export function guardAgentRoute(c: Context, api: ApiContext, token: string, method: string, path: string): Promise<((res: Response) => Promise<Response>) | null> | null {
  // Everything else is checked by the server it reaches; the hot paths (KV, catalog, health) skip the table.
  if (!path.startsWith("/v1/agent/") && !path.startsWith("/v1/event/")) return null;
  const found = agentRouteRule(method, path);
  if (!found) return null;
  return guard(c, api, token, found);
}

async function guard(c: Context, api: ApiContext, token: string, found: { rule: RouteRule; match: RegExpMatchArray }): Promise<((res: Response) => Promise<Response>) | null> {
  const acl = api.acl!;
  const r = acl.authorizer(token);
  const authz = isPromise(r) ? await r : r;
  await found.rule.check?.({ authz, api, c, node: api.agent.nodeName }, found.match);
  const filter = found.rule.filter;
  if (!filter) return null;
  return async (res) => {
    if (res.status !== 200 || !(res.headers.get("content-type") ?? "").includes("json")) return res;
    const dropped = { value: false };
    const out = filter(authz, await res.json(), dropped);
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    if (dropped.value && authz.accessorId !== ANONYMOUS_TOKEN_ID) headers.set("X-Consul-Results-Filtered-By-ACLs", "true");
    return new Response(JSON.stringify(out), { status: res.status, headers });
  };
}
