/**
 * `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/:service`
 * (Consul's agent_endpoint.go): answered from the agent's caches, which
 * refresh in the background and block on their own index.
 */
import type { Hono } from "hono";
import type { Context } from "hono";
import { type ApiContext, json, queryOptions, reply } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { LeafCerts } from "../agent/leaf_certs.ts";
import type { CachedReply } from "../agent/ca_roots.ts";

/** These endpoints always answer from the agent's caches, so they always say whether it was a hit (Consul's setCacheMeta). */
function cacheMeta<T>(c: Context, r: CachedReply<T>): CachedReply<T> {
  c.header("X-Cache", r.hit === true ? "HIT" : "MISS");
  if (r.hit === true) c.header("Age", String(Math.round((r.ageMs ?? 0) / 1000)));
  return r;
}

function leafCerts(api: ApiContext): LeafCerts {
  if (!api.leafCerts) throw new HttpError(500, "Connect must be enabled in order to use this endpoint");
  return api.leafCerts;
}

export function agentConnectCARoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/connect/ca/roots", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, leafCerts(api).rootsQuery(q).then((r) => cacheMeta(c, r)), (roots) => json(c, roots, q));
  });

  app.get("/v1/agent/connect/ca/leaf/:service{.+}", (c) => {
    const q = queryOptions(c, api);
    // The service's name, not an instance ID; it need not be registered.
    const service = c.req.param("service");
    return reply(c, q, leafCerts(api).get(service, q).then((r) => cacheMeta(c, r)), (cert) => json(c, cert, q));
  });
}
