/**
 * The web UI's files: the single-page app under `ui_config.content_path`
 * (`/ui/`), every path without a file extension answered with its
 * index.html so bookmarks of Consul's UI URLs (`/ui/dc1/services/web/instances`)
 * load the app, and `GET /` redirected there as Consul does.
 *
 * The built-in app is the repository's `ui/` folder (plain ES modules and CSS,
 * nothing to build), found next to this module in the sources and next to the
 * bundle in an installed package.
 */
import type { Context, Hono } from "hono";
import { readFile, stat } from "node:fs/promises";
import { join, normalize, sep } from "node:path";
import { fileURLToPath } from "node:url";
import type { ApiContext } from "./context.ts";

const TYPES: Readonly<Record<string, string>> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
};

/** Where the built-in UI lives: `../../ui` from src/http, `../ui` from dist/ (and its chunks/). */
const CANDIDATES = ["../../ui/", "../ui/"];

let builtIn: Promise<string | null> | null = null;

async function isUiDir(dir: string): Promise<boolean> {
  try {
    return (await stat(join(dir, "index.html"))).isFile() && (await stat(join(dir, "consulate-ui.js"))).isFile();
  } catch {
    return false;
  }
}

/** The built-in UI folder, or null when the package was installed without it. */
export function builtInUiDir(): Promise<string | null> {
  builtIn ??= (async () => {
    for (const rel of CANDIDATES) {
      const dir = fileURLToPath(new URL(rel, import.meta.url));
      if (await isUiDir(dir)) return dir;
    }
    return null;
  })();
  return builtIn;
}

/** The UI's index.html with its mount point and datacenter filled in (Consul injects its settings the same way). */
function renderIndex(html: string, settings: UiPageSettings): string {
  const json = JSON.stringify(settings).replace(/</g, "\\u003c");
  return html.replaceAll("{{CONTENT_PATH}}", settings.contentPath).replace("{{SETTINGS}}", json);
}

/** What the page learns from the agent that serves it (Consul injects the same: its datacenter, whether ACLs are on). */
interface UiPageSettings {
  readonly contentPath: string;
  readonly datacenter: string;
  readonly aclsEnabled: boolean;
}

async function serveFile(c: Context, root: string, rel: string, settings: UiPageSettings): Promise<Response> {
  // The app's own files are top-level names with an extension and assets/*; any other path is a page of the app (a KV key may well end in ".json").
  const isFile = rel.startsWith("assets/") || (!rel.includes("/") && /\.[a-z0-9]+$/i.test(rel));
  const file = isFile ? rel : "index.html";
  const ext = /\.([a-z0-9]+)$/i.exec(file)?.[1]?.toLowerCase();
  const full = normalize(join(root, file));
  if (!full.startsWith(normalize(root + sep)) && full !== normalize(root)) return c.text("404 page not found", 404);
  let body: Uint8Array;
  try {
    body = await readFile(full);
  } catch {
    return c.text("404 page not found", 404);
  }
  const type = TYPES[ext ?? "html"] ?? "application/octet-stream";
  if (file === "index.html") {
    return c.body(renderIndex(new TextDecoder().decode(body), settings), 200, { "Content-Type": type, "Cache-Control": "no-cache" });
  }
  return c.body(body as Uint8Array<ArrayBuffer>, 200, { "Content-Type": type, "Cache-Control": "no-cache" });
}

export function uiStaticRoutes(app: Hono, api: ApiContext): void {
  const ui = api.ui;
  app.get("/", (c) => {
    if (!ui?.enabled) return c.text("Consul Agent: UI disabled. To enable, set ui_config.enabled=true in the agent configuration and restart.");
    return c.redirect(ui.contentPath, 301);
  });
  if (!ui?.enabled) return;
  const base = ui.contentPath;
  const root = ui.dir !== "" ? Promise.resolve(ui.dir) : builtInUiDir();
  app.get(base.replace(/\/$/, ""), (c) => c.redirect(base, 301));
  app.get(`${base}*`, async (c) => {
    const dir = await root;
    if (dir === null) return c.text("The web UI's files are not installed with this agent", 404);
    let rel: string;
    try {
      rel = decodeURIComponent(new URL(c.req.url).pathname.slice(base.length));
    } catch {
      return c.text("400 bad request: invalid URL path escape", 400);
    }
    return serveFile(c, dir, rel, { contentPath: base, datacenter: api.agent.datacenter, aclsEnabled: api.acl?.enabled ?? false });
  });
}
