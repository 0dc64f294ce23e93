/**
 * The methods Consul registers for each HTTP endpoint. Consul's handler
 * wrapper answers `OPTIONS` on a known endpoint with 200 and an `Allow`
 * header, and any other method not listed with `405 method X not allowed`
 * and the same header (`OPTIONS` first, comma-separated, no spaces). Paths
 * match as Go's ServeMux matches them: a pattern ending in `/` covers its
 * subtree, any other only itself, and the longest pattern wins. Endpoints
 * that sort methods out themselves (`/v1/query/`) are not listed.
 */
import type { Context } from "hono";

type Method = "GET" | "PUT" | "POST" | "DELETE";

const ENDPOINTS: readonly (readonly [string, readonly Method[]])[] = [
  ["/v1/acl/bootstrap", ["PUT"]],
  ["/v1/acl/login", ["POST"]],
  ["/v1/acl/logout", ["POST"]],
  ["/v1/acl/replication", ["GET"]],
  ["/v1/acl/policies", ["GET"]],
  ["/v1/acl/policy", ["PUT"]],
  ["/v1/acl/policy/", ["GET", "PUT", "DELETE"]],
  ["/v1/acl/policy/name/", ["GET"]],
  ["/v1/acl/roles", ["GET"]],
  ["/v1/acl/role", ["PUT"]],
  ["/v1/acl/role/name/", ["GET"]],
  ["/v1/acl/role/", ["GET", "PUT", "DELETE"]],
  ["/v1/acl/binding-rules", ["GET"]],
  ["/v1/acl/binding-rule", ["PUT"]],
  ["/v1/acl/binding-rule/", ["GET", "PUT", "DELETE"]],
  ["/v1/acl/auth-methods", ["GET"]],
  ["/v1/acl/auth-method", ["PUT"]],
  ["/v1/acl/auth-method/", ["GET", "PUT", "DELETE"]],
  ["/v1/acl/tokens", ["GET"]],
  ["/v1/acl/token", ["PUT"]],
  ["/v1/acl/token/self", ["GET"]],
  ["/v1/acl/token/", ["GET", "PUT", "DELETE"]],
  ["/v1/acl/templated-policies", ["GET"]],
  ["/v1/acl/templated-policy/name/", ["GET"]],
  ["/v1/acl/templated-policy/preview/", ["POST"]],
  ["/v1/agent/token/", ["PUT"]],
  ["/v1/agent/self", ["GET"]],
  ["/v1/agent/host", ["GET"]],
  ["/v1/agent/version", ["GET"]],
  ["/v1/agent/maintenance", ["PUT"]],
  ["/v1/agent/reload", ["PUT"]],
  ["/v1/agent/monitor", ["GET"]],
  ["/v1/agent/metrics", ["GET"]],
  ["/v1/agent/metrics/stream", ["GET"]],
  ["/v1/agent/services", ["GET"]],
  ["/v1/agent/service/", ["GET"]],
  ["/v1/agent/checks", ["GET"]],
  ["/v1/agent/members", ["GET"]],
  ["/v1/agent/join/", ["PUT"]],
  ["/v1/agent/leave", ["PUT"]],
  ["/v1/agent/force-leave/", ["PUT"]],
  ["/v1/agent/health/service/id/", ["GET"]],
  ["/v1/agent/health/service/name/", ["GET"]],
  ["/v1/agent/check/register", ["PUT"]],
  ["/v1/agent/check/deregister/", ["PUT"]],
  ["/v1/agent/check/pass/", ["PUT"]],
  ["/v1/agent/check/warn/", ["PUT"]],
  ["/v1/agent/check/fail/", ["PUT"]],
  ["/v1/agent/check/update/", ["PUT"]],
  ["/v1/agent/connect/authorize", ["POST"]],
  ["/v1/agent/connect/ca/roots", ["GET"]],
  ["/v1/agent/connect/ca/leaf/", ["GET"]],
  ["/v1/agent/service/register", ["PUT"]],
  ["/v1/agent/service/deregister/", ["PUT"]],
  ["/v1/agent/service/maintenance/", ["PUT"]],
  ["/v1/catalog/register", ["PUT"]],
  ["/v1/catalog/connect/", ["GET"]],
  ["/v1/catalog/deregister", ["PUT"]],
  ["/v1/catalog/datacenters", ["GET"]],
  ["/v1/catalog/nodes", ["GET"]],
  ["/v1/catalog/services", ["GET"]],
  ["/v1/catalog/service/", ["GET"]],
  ["/v1/catalog/node/", ["GET"]],
  ["/v1/catalog/node-services/", ["GET"]],
  ["/v1/catalog/gateway-services/", ["GET"]],
  ["/v1/config/", ["GET", "DELETE"]],
  ["/v1/config", ["PUT"]],
  ["/v1/connect/ca/configuration", ["GET", "PUT"]],
  ["/v1/connect/ca/roots", ["GET"]],
  ["/v1/connect/intentions", ["GET", "POST"]],
  ["/v1/connect/intentions/match", ["GET"]],
  ["/v1/connect/intentions/check", ["GET"]],
  ["/v1/connect/intentions/exact", ["GET", "PUT", "DELETE"]],
  ["/v1/connect/intentions/", ["GET", "PUT", "DELETE"]],
  ["/v1/coordinate/datacenters", ["GET"]],
  ["/v1/coordinate/nodes", ["GET"]],
  ["/v1/coordinate/node/", ["GET"]],
  ["/v1/coordinate/update", ["PUT"]],
  ["/v1/internal/federation-states", ["GET"]],
  ["/v1/internal/federation-states/mesh-gateways", ["GET"]],
  ["/v1/internal/federation-state/", ["GET"]],
  ["/v1/discovery-chain/", ["GET", "POST"]],
  ["/v1/exported-services", ["GET"]],
  ["/v1/event/fire/", ["PUT"]],
  ["/v1/event/list", ["GET"]],
  ["/v1/health/node/", ["GET"]],
  ["/v1/health/checks/", ["GET"]],
  ["/v1/health/state/", ["GET"]],
  ["/v1/health/service/", ["GET"]],
  ["/v1/health/connect/", ["GET"]],
  ["/v1/health/ingress/", ["GET"]],
  ["/v1/internal/acl/authorize", ["POST"]],
  ["/v1/internal/service-virtual-ip", ["PUT"]],
  ["/v1/kv/", ["GET", "PUT", "DELETE"]],
  ["/v1/operator/raft/configuration", ["GET"]],
  ["/v1/operator/autopilot/configuration", ["GET", "PUT"]],
  ["/v1/operator/autopilot/health", ["GET"]],
  ["/v1/operator/autopilot/state", ["GET"]],
  ["/v1/operator/raft/transfer-leader", ["POST"]],
  ["/v1/operator/raft/peer", ["DELETE"]],
  ["/v1/operator/keyring", ["GET", "POST", "PUT", "DELETE"]],
  ["/v1/operator/usage", ["GET"]],
  ["/v1/operator/utilization", ["GET"]],
  ["/v1/operator/autopilot/configuration", ["GET", "PUT"]],
  ["/v1/operator/autopilot/health", ["GET"]],
  ["/v1/operator/autopilot/state", ["GET"]],
  ["/v1/peering/token", ["POST"]],
  ["/v1/peering/establish", ["POST"]],
  ["/v1/peering/", ["GET", "DELETE"]],
  ["/v1/peerings", ["GET"]],
  ["/v1/query", ["GET", "POST"]],
  ["/v1/session/create", ["PUT"]],
  ["/v1/session/destroy/", ["PUT"]],
  ["/v1/session/renew/", ["PUT"]],
  ["/v1/session/info/", ["GET"]],
  ["/v1/session/node/", ["GET"]],
  ["/v1/session/list", ["GET"]],
  ["/v1/status/leader", ["GET"]],
  ["/v1/status/peers", ["GET"]],
  ["/v1/snapshot", ["GET", "PUT"]],
  ["/v1/txn", ["PUT"]],
];

const exact = new Map<string, readonly Method[]>();
/** Subtree patterns, longest first, so the first match is Go's. */
const subtrees: (readonly [string, readonly Method[]])[] = [];
for (const [pattern, methods] of ENDPOINTS) {
  if (pattern.endsWith("/")) subtrees.push([pattern, methods]);
  else exact.set(pattern, methods);
}
subtrees.sort((a, b) => b[0].length - a[0].length);

/** The methods Consul allows on `path`, or null when no listed endpoint covers it. */
export function allowedMethods(path: string): readonly Method[] | null {
  const hit = exact.get(path);
  if (hit) return hit;
  for (const [prefix, methods] of subtrees) if (path.startsWith(prefix)) return methods;
  return null;
}

/** Consul's answer to OPTIONS or a method the endpoint does not take, or null to go on. */
export function methodCheck(c: Context, path: string): Response | null {
  const methods = allowedMethods(path);
  if (methods === null) return null;
  const method = c.req.method;
  if ((methods as readonly string[]).includes(method)) return null;
  const allow = ["OPTIONS", ...methods].join(",");
  if (method === "OPTIONS") return new Response(null, { status: 200, headers: { Allow: allow } });
  return new Response(`method ${method} not allowed`, { status: 405, headers: { Allow: allow, "Content-Type": "text/plain; charset=utf-8" } });
}
