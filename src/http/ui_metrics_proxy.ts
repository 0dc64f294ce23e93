/**
 * `/v1/internal/ui/metrics-proxy/*` (Consul's UIMetricsProxy): a read-only
 * pass-through to one metrics backend (`ui_config.metrics_proxy.base_url`),
 * for tokens that may read every node and service. The token is taken from
 * headers only and never forwarded; the path must stay under the base URL and
 * inside `path_allowlist` when one is set.
 */
import type { Context } from "hono";
import type { ApiContext } from "./context.ts";
import { cleanPath } from "./clean_path.ts";
import { HttpError } from "./errors.ts";
import { PermissionDeniedError } from "../acl/mod.ts";

const PREFIX = "/v1/internal/ui/metrics-proxy";
const TOKEN_HEADERS = ["x-consul-token", "authorization"];

function headerToken(h: Headers): string {
  const direct = h.get("x-consul-token");
  if (direct) return direct;
  const auth = h.get("authorization") ?? "";
  return /^bearer\s+/i.test(auth) ? auth.replace(/^bearer\s+/i, "").trim() : "";
}

export async function metricsProxy(c: Context, api: ApiContext): Promise<Response> {
  if (c.req.method !== "GET") return c.text(`method ${c.req.method} not allowed`, 405, { Allow: "GET" });
  const ui = api.ui;
  if (!ui?.enabled) throw new HttpError(404, "UI is not enabled");
  const cfg = ui.metricsProxy;
  if (cfg.baseUrl === "") throw new HttpError(404, "Metrics proxy is not enabled");
  if (api.acl?.enabled) {
    const authz = await api.acl.authorizer(headerToken(c.req.raw.headers) || api.acl.defaultToken);
    if (!authz.allowed("node", "read", "")) throw new PermissionDeniedError(authz.accessorId, "node", "read", "");
    if (!authz.allowed("service", "read", "")) throw new PermissionDeniedError(authz.accessorId, "service", "read", "");
  }
  const incoming = new URL(c.req.url);
  const sub = incoming.pathname.slice(PREFIX.length);
  let target: URL;
  try {
    target = new URL(cfg.baseUrl + sub);
  } catch {
    throw new HttpError(400, "Invalid path.");
  }
  target.pathname = cleanPath(target.pathname).replace(/(.)\/$/, "$1");
  if (cfg.pathAllowlist.length > 0 && !cfg.pathAllowlist.includes(target.pathname)) return c.body(null, 403);
  target.search = incoming.search;
  if (!target.toString().startsWith(cfg.baseUrl)) throw new HttpError(400, "Invalid path.");
  const headers = new Headers(c.req.raw.headers);
  for (const h of TOKEN_HEADERS) headers.delete(h);
  headers.delete("host");
  for (const h of cfg.addHeaders) headers.set(h.name, h.value);
  const upstream = await fetch(target, { method: "GET", headers, redirect: "manual" }).catch((err: unknown) => {
    throw new HttpError(502, `Metrics proxy request failed: ${(err as Error).message}`);
  });
  const out = new Headers(upstream.headers);
  out.delete("content-encoding");
  out.delete("content-length");
  return new Response(upstream.body, { status: upstream.status, headers: out });
}
