/**
 * Consul routes by path prefix, so `/v1/session/info/` reaches the handler
 * with an empty id and answers 400 naming what is missing; hono's `:param`
 * needs at least one character, so those paths are routed here explicitly.
 */
import type { Hono } from "hono";
import { HttpError } from "./errors.ts";

const MISSING: readonly (readonly ["GET" | "PUT", string, string])[] = [
  ["GET", "/v1/session/info/", "Missing session"],
  ["PUT", "/v1/session/renew/", "Missing session"],
  ["PUT", "/v1/session/destroy/", "Missing session"],
  ["GET", "/v1/session/node/", "Missing node name"],
  ["GET", "/v1/catalog/service/", "Missing service name"],
  ["GET", "/v1/catalog/node/", "Missing node name"],
  ["GET", "/v1/catalog/node-services/", "Missing node name"],
  ["GET", "/v1/catalog/gateway-services/", "Missing gateway name"],
  ["GET", "/v1/health/node/", "Missing node name"],
  ["GET", "/v1/health/checks/", "Missing service name"],
  ["GET", "/v1/health/service/", "Missing service name"],
  ["GET", "/v1/health/state/", "Missing check state"],
];

export function missingParamRoutes(app: Hono): void {
  for (const [method, path, message] of MISSING) {
    app.on(method, path, () => {
      throw new HttpError(400, message);
    });
  }
}
