/** `/v1/status/*`: with one server, it is the leader and the only peer. */
import type { Hono } from "hono";
import { type ApiContext, json } from "./context.ts";

export function statusRoutes(app: Hono, api: ApiContext): void {
  const self = () => `${api.agent.advertiseAddr}:${api.agent.serverPort}`;
  app.get("/v1/status/leader", (c) => json(c, api.agent.server ? self() : ""));
  app.get("/v1/status/peers", (c) => json(c, api.agent.server ? [self()] : []));
}
