/**
 * The `/v1` HTTP API as a hono app. `app.request()` runs the whole pipeline
 * without a socket, which is how handler tests drive it.
 */
import { Hono } from "hono";
import { agentRoutes } from "./agent.ts";
import { catalogRoutes } from "./catalog.ts";
import type { ApiContext } from "./context.ts";
import { HttpError } from "./errors.ts";
import { healthRoutes } from "./health.ts";
import { kvRoutes } from "./kv.ts";
import { missingParamRoutes } from "./missing.ts";
import { requestToken } from "./query.ts";
import { sessionRoutes } from "./session.ts";
import { statusRoutes } from "./status.ts";
import { txnRoutes } from "./txn.ts";
import { FilterError } from "../filter/mod.ts";
import { ApplyError } from "../server/mod.ts";
import { DecodeError } from "../structs/decode.ts";

export function createApp(api: ApiContext): Hono {
  const app = new Hono();

  app.use("*", async (c, next) => {
    c.header("X-Consul-Default-ACL-Policy", "allow");
    const url = new URL(c.req.url);
    const token = requestToken(url, c.req.raw.headers);
    if (!api.authorizer.authorize({ token, method: c.req.method, path: url.pathname })) {
      return c.text("Permission denied", 403);
    }
    await next();
  });

  kvRoutes(app, api);
  sessionRoutes(app, api);
  catalogRoutes(app, api);
  healthRoutes(app, api);
  txnRoutes(app, api);
  statusRoutes(app, api);
  agentRoutes(app, api);
  missingParamRoutes(app);

  app.notFound((c) => c.text(`404 page not found`, 404));

  app.onError((err, c) => {
    if (err instanceof HttpError) return c.text(err.message, err.status as 400);
    if (err instanceof FilterError) return c.text(err.message, 400);
    if (err instanceof DecodeError) return c.text(err.message, 400);
    if (err instanceof ApplyError) return c.text(err.message, 500);
    return c.text(`rpc error: ${(err as Error).message}`, 500);
  });

  return app;
}
