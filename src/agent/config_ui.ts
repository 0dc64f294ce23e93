/**
 * The web UI's settings: Consul's `ui_config` block and its older top-level
 * keys (`ui`, `ui_dir`, `ui_content_path`), and the `-ui`, `-ui-dir` and
 * `-ui-content-path` flags. `-dev` turns the UI on.
 *
 * ```json
 * "ui_config": {
 *   "enabled": true,
 *   "content_path": "/ui/",
 *   "metrics_proxy": { "base_url": "http://prometheus:9090", "path_allowlist": ["/api/v1/query_range"] }
 * }
 * ```
 */
import { isObject } from "../structs/json.ts";
import { ConfigError } from "./config_error.ts";
import { checkKeys } from "./config_keys.ts";

export interface UiSettings {
  enabled: boolean;
  dir: string;
  contentPath: string;
  metricsProvider: string;
  metricsProxy: { baseUrl: string; pathAllowlist: string[]; addHeaders: { name: string; value: string }[] };
  dashboardUrlTemplates: Record<string, string>;
}

export function defaultUiSettings(): UiSettings {
  return { enabled: false, dir: "", contentPath: "/ui/", metricsProvider: "", metricsProxy: { baseUrl: "", pathAllowlist: [], addHeaders: [] }, dashboardUrlTemplates: {} };
}

const KEYS = ["enabled", "dir", "content_path", "metrics_provider", "metrics_provider_files", "metrics_provider_options_json", "metrics_proxy", "dashboard_url_templates"];

function str(file: string, key: string, v: unknown): string {
  if (typeof v !== "string") throw new ConfigError(`${file}: ${key} must be a string, got ${JSON.stringify(v)}`);
  return v;
}

/** Consul's content path rule: it starts and ends with "/" (a missing slash is added). */
export function normalizeContentPath(p: string, where: string): string {
  const trimmed = p.trim();
  if (trimmed === "" || trimmed === "/") throw new ConfigError(`${where}: the UI cannot be served at the root ("/"): choose a path such as "/ui/"`);
  if (!/^[\w\-./~]+$/.test(trimmed) || trimmed.includes("..")) throw new ConfigError(`${where}: ${JSON.stringify(p)} is not a valid URL path`);
  return `/${trimmed.replace(/^\/+|\/+$/g, "")}/`;
}

function metricsProxy(file: string, v: unknown): UiSettings["metricsProxy"] {
  if (!isObject(v)) throw new ConfigError(`${file}: ui_config.metrics_proxy must be an object`);
  checkKeys(file, "ui_config.metrics_proxy.", v, ["base_url", "path_allowlist", "add_headers"]);
  const out: UiSettings["metricsProxy"] = { baseUrl: "", pathAllowlist: [], addHeaders: [] };
  if (v.base_url !== undefined) {
    out.baseUrl = str(file, "ui_config.metrics_proxy.base_url", v.base_url);
    if (out.baseUrl !== "" && !/^https?:\/\/[^/]+/.test(out.baseUrl)) throw new ConfigError(`${file}: ui_config.metrics_proxy.base_url must be an http or https URL, got ${JSON.stringify(out.baseUrl)}`);
  }
  if (v.path_allowlist !== undefined) {
    const list = v.path_allowlist;
    if (!Array.isArray(list) || !list.every((p) => typeof p === "string" && p.startsWith("/"))) throw new ConfigError(`${file}: ui_config.metrics_proxy.path_allowlist must be a list of absolute paths`);
    out.pathAllowlist = list as string[];
  }
  if (v.add_headers !== undefined) {
    const list = v.add_headers;
    if (!Array.isArray(list) || !list.every((h) => isObject(h) && typeof h.name === "string" && typeof h.value === "string")) {
      throw new ConfigError(`${file}: ui_config.metrics_proxy.add_headers must be a list of {"name", "value"} objects`);
    }
    out.addHeaders = (list as { name: string; value: string }[]).map((h) => ({ name: h.name, value: h.value }));
  }
  return out;
}

/** Merges `ui_config`, `ui`, `ui_dir` or `ui_content_path` from one file; false when `key` is none of them. */
export function mergeUiKey(ui: UiSettings, key: string, v: unknown, file: string): boolean {
  switch (key) {
    case "ui":
      if (typeof v !== "boolean") throw new ConfigError(`${file}: ui must be a boolean, got ${JSON.stringify(v)}`);
      ui.enabled = v;
      return true;
    case "ui_dir":
      ui.dir = str(file, key, v);
      return true;
    case "ui_content_path":
      ui.contentPath = normalizeContentPath(str(file, key, v), `${file}: ui_content_path`);
      return true;
    case "ui_config": {
      if (!isObject(v)) throw new ConfigError(`${file}: ui_config must be an object`);
      checkKeys(file, "ui_config.", v, KEYS);
      if (v.enabled !== undefined) {
        if (typeof v.enabled !== "boolean") throw new ConfigError(`${file}: ui_config.enabled must be a boolean, got ${JSON.stringify(v.enabled)}`);
        ui.enabled = v.enabled;
      }
      if (v.dir !== undefined) ui.dir = str(file, "ui_config.dir", v.dir);
      if (v.content_path !== undefined) ui.contentPath = normalizeContentPath(str(file, "ui_config.content_path", v.content_path), `${file}: ui_config.content_path`);
      if (v.metrics_provider !== undefined) ui.metricsProvider = str(file, "ui_config.metrics_provider", v.metrics_provider);
      if (v.metrics_proxy !== undefined) ui.metricsProxy = metricsProxy(file, v.metrics_proxy);
      if (v.dashboard_url_templates !== undefined) {
        const t = v.dashboard_url_templates;
        if (!isObject(t) || !Object.values(t).every((x) => typeof x === "string")) throw new ConfigError(`${file}: ui_config.dashboard_url_templates must map names to URL strings`);
        ui.dashboardUrlTemplates = t as Record<string, string>;
      }
      return true;
    }
    default:
      return false;
  }
}
