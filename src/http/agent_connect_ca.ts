/**
 * `/v1/agent/connect/ca/roots` and `/v1/agent/connect/ca/leaf/:service`
 * (Consul's agent_endpoint.go): answered from the agent's caches, which
 * refresh in the background and block on their own index.
 */
import type { Hono } from "hono";
import { type ApiContext, json, queryOptions, reply } from "./context.ts";
import { HttpError } from "./errors.ts";
import type { LeafCerts } from "../agent/leaf_certs.ts";

function leafCerts(api: ApiContext): LeafCerts {
  if (!api.leafCerts) throw new HttpError(500, "Connect must be enabled in order to use this endpoint");
  return api.leafCerts;
}

export function agentConnectCARoutes(app: Hono, api: ApiContext): void {
  app.get("/v1/agent/connect/ca/roots", (c) => {
    const q = queryOptions(c, api);
    return reply(c, q, leafCerts(api).rootsQuery(q), (roots) => json(c, roots, q));
  });

  app.get("/v1/agent/connect/ca/leaf/:service{.+}", (c) => {
    const q = queryOptions(c, api);
    // The service's name, not an instance ID; it need not be registered.
    const service = c.req.param("service");
    return reply(c, q, leafCerts(api).get(service, q), (cert) => json(c, cert, q));
  });
}
