import { setRequestToken, urlOf } from "./context.ts";
import { redirectUnclean } from "./clean_path.ts";
import { encodeAtTheEnd, responseEncoding } from "./response_encoding.ts";
import { methodCheck } from "./methods.ts";
import { aclRoutes, agentTokenRoutes } from "./acl.ts";
import { aclAuthRoutes } from "./acl_auth.ts";
import { guardAgentRoute } from "./acl_guard.ts";
/**
 * The `/v1` HTTP API as a hono app. `app.request()` runs the whole pipeline
 * without a socket, which is how handler tests drive it.
 */
import { Hono } from "hono";
import { routePath } from "hono/route";
import { agentRoutes } from "./agent.ts";
import { agentMonitorRoutes } from "./agent_monitor.ts";
import { agentCheckRoutes } from "./agent_checks.ts";
import { agentHealthRoutes } from "./agent_health.ts";
import { agentMetricsRoutes } from "./agent_metrics.ts";
import { agentOpsRoutes } from "./agent_ops.ts";
import { agentServiceRoutes } from "./agent_services.ts";
import { agentAuthorizeRoutes } from "./agent_authorize.ts";
import { catalogRoutes } from "./catalog.ts";
import { configRoutes } from "./config.ts";
import { intentionRoutes } from "./intentions.ts";
import { discoveryChainRoutes } from "./discovery_chain.ts";
import { coordinateRoutes } from "./coordinate.ts";
import { connectCatalogRoutes } from "./connect_catalog.ts";
import { connectCARoutes } from "./connect_ca.ts";
import { agentConnectCARoutes } from "./agent_connect_ca.ts";
import type { ApiContext } from "./context.ts";
import { HttpError } from "./errors.ts";
import { errorAnswer } from "./error_answer.ts";
import { eventRoutes } from "./event.ts";
import { healthRoutes } from "./health.ts";
import { kvRoutes } from "./kv.ts";
import { pathLabel, RequestMetrics } from "./metrics.ts";
import { missingParamRoutes } from "./missing.ts";
import { operatorKeyringRoutes } from "./operator_keyring.ts";
import { requestToken } from "./query.ts";
import { operatorRoutes } from "./operator.ts";
import { operatorFederationRoutes } from "./operator_federation.ts";
import { preparedQueryRoutes } from "./prepared_query.ts";
import { sessionRoutes } from "./session.ts";
import { snapshotRoutes } from "./snapshot.ts";
import { statusRoutes } from "./status.ts";
import { txnRoutes } from "./txn.ts";
import { uiRoutes } from "./ui.ts";
import { uiStaticRoutes } from "./ui_static.ts";

export function createApp(api: ApiContext): Hono {
  const app = new Hono();
  const requests = api.metrics ?? new RequestMetrics();
  app.use("*", responseEncoding(api.agent.devMode ?? false));

  // One middleware for every request: the authorizer hook, then request metrics.
  app.use("*", async (c, next) => {
    const started = performance.now();
    const url = urlOf(c);
    const redirect = redirectUnclean(c, url);
    if (redirect) return redirect;
    const wrongMethod = methodCheck(c, url.pathname);
    if (wrongMethod) return wrongMethod;
    // Consul's setTranslateAddr: with translate_wan_addrs on, answers say so (clients then know Address may be a WAN one).
    if (api.agent.translateWanAddrs === true) c.header("X-Consul-Translate-Addresses", "true");
    const token = requestToken(url, c.req.raw.headers);
    if (!api.authorizer.authorize({ token, method: c.req.method, path: url.pathname })) {
      c.header("X-Consul-Default-ACL-Policy", "allow");
      return c.text("Permission denied", 403);
    }
    const acl = api.acl;
    if (acl?.enabled) {
      c.header("X-Consul-Default-ACL-Policy", acl.settings.defaultPolicy);
      const effective = token || acl.defaultToken;
      setRequestToken(c, effective);
      const guarded = guardAgentRoute(c, api, effective, c.req.method, url.pathname);
      const rewrite = guarded === null ? null : await guarded;
      if (rewrite) encodeAtTheEnd(c);
      await next();
      if (rewrite) c.res = await rewrite(c.res);
    } else {
      c.header("X-Consul-Default-ACL-Policy", "allow");
      await next();
    }
    const route = routePath(c, -1);
    if (route !== "*" && route !== "/*") requests.record(c.req.method, pathLabel(route), performance.now() - started);
  });

  kvRoutes(app, api);
  sessionRoutes(app, api);
  catalogRoutes(app, api);
  healthRoutes(app, api);
  connectCatalogRoutes(app, api);
  txnRoutes(app, api);
  snapshotRoutes(app, api);
  statusRoutes(app, api);
  operatorRoutes(app, api);
  operatorFederationRoutes(app, api);
  agentRoutes(app, api);
  agentMonitorRoutes(app, api);
  agentServiceRoutes(app, api);
  agentCheckRoutes(app, api);
  agentHealthRoutes(app, api);
  agentOpsRoutes(app, api);
  agentMetricsRoutes(app, api, requests);
  eventRoutes(app, api);
  configRoutes(app, api);
  intentionRoutes(app, api);
  discoveryChainRoutes(app, api);
  coordinateRoutes(app, api);
  agentAuthorizeRoutes(app, api);
  operatorKeyringRoutes(app, api);
  connectCARoutes(app, api);
  agentConnectCARoutes(app, api);
  preparedQueryRoutes(app, api);
  aclRoutes(app, api);
  aclAuthRoutes(app, api);
  agentTokenRoutes(app, api);
  uiRoutes(app, api);
  uiStaticRoutes(app, api);
  missingParamRoutes(app);

  app.notFound((c) => c.text(`404 page not found`, 404));

  app.onError((err, c) => {
    // A body that did not arrive in time: the connection is not worth keeping.
    if (err instanceof HttpError && err.status === 408) return c.text(err.message, 408, { Connection: "close" });
    const { status, text } = errorAnswer(err);
    return c.text(text, status as 400);
  });

  return app;
}
