/**
 * Go's `http.ServeMux` answers a path that is not in canonical form (`//`,
 * `/./`, `/../`) with 301 to the cleaned path, query kept; Consul inherits it
 * for every route and clients such as `crypt` rely on it (`/v1/kv//a/b`).
 */
import type { Context } from "hono";

/** Go's `path.Clean`, keeping a trailing slash as ServeMux's `cleanPath` does. */
export function cleanPath(p: string): string {
  if (p === "") return "/";
  const rooted = p.startsWith("/") ? p : `/${p}`;
  const out: string[] = [];
  for (const part of rooted.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  const cleaned = `/${out.join("/")}`;
  return rooted.endsWith("/") && cleaned !== "/" ? `${cleaned}/` : cleaned;
}

/** The 301 Go sends, or null when the path is already clean. */
export function redirectUnclean(c: Context, url: URL): Response | null {
  if (c.req.method === "CONNECT") return null;
  const cleaned = cleanPath(url.pathname);
  if (cleaned === url.pathname) return null;
  const location = `${cleaned}${url.search}`;
  const isRead = c.req.method === "GET" || c.req.method === "HEAD";
  const headers: Record<string, string> = { Location: location };
  if (isRead) headers["Content-Type"] = "text/html; charset=utf-8";
  const body = c.req.method === "GET" ? `<a href="${escapeHtml(location)}">Moved Permanently</a>.\n\n` : null;
  return new Response(body, { status: 301, headers });
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&#34;").replace(/'/g, "&#39;");
}
