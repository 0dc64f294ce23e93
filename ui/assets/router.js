// Consul's UI URL scheme under the content path, with the history API:
// /ui/<dc>/services, /ui/<dc>/services/<name>/instances, /ui/<dc>/nodes,
// /ui/<dc>/kv/<path>/, /ui/<dc>/intentions, ...

const settingsEl = document.getElementById("consulate-settings");
/** @type {{ contentPath: string, datacenter: string }} */
export const settings = settingsEl ? JSON.parse(settingsEl.textContent ?? "{}") : { contentPath: "/ui/", datacenter: "dc1" };

/** The app path of a page in `dc`: url("dc1", "services", "web", "instances"). Segments are encoded; a trailing "" keeps a slash. */
export function url(dc, ...parts) {
  return settings.contentPath + [dc, ...parts].map((p, i) => (i === 0 || p === "" ? encodeURIComponent(p) : encodePath(p))).join("/");
}

/** Encodes a path segment but keeps "/" (KV keys carry their own). @param {string} p */
export function encodePath(p) {
  return p.split("/").map(encodeURIComponent).join("/");
}

/** The part of the location after the content path: { dc, rest } with rest decoded segments. */
export function currentRoute() {
  const path = location.pathname.startsWith(settings.contentPath) ? location.pathname.slice(settings.contentPath.length) : "";
  const [dc = "", ...rest] = path.split("/");
  return { dc: decodeURIComponent(dc), rest: rest.map((s) => decodeURIComponent(s)), query: new URLSearchParams(location.search) };
}

/** @type {() => void} */
let onNavigate = () => {};

/** @param {() => void} fn */
export function setNavigateHandler(fn) {
  onNavigate = fn;
}

/** Goes to `href` (an app path) through the history API. @param {string} href @param {{ replace?: boolean }} [opts] */
export function navigate(href, opts = {}) {
  if (opts.replace) history.replaceState(null, "", href);
  else history.pushState(null, "", href);
  onNavigate();
}

/** Same-origin links under the content path are followed without a reload. */
export function interceptLinks() {
  document.addEventListener("click", (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = /** @type {HTMLElement} */ (e.target).closest?.("a[href]");
    if (!a || a.getAttribute("target") || a.hasAttribute("download")) return;
    const href = /** @type {HTMLAnchorElement} */ (a).href;
    const u = new URL(href);
    if (u.origin !== location.origin || !u.pathname.startsWith(settings.contentPath)) return;
    e.preventDefault();
    navigate(u.pathname + u.search);
  });
  addEventListener("popstate", () => onNavigate());
}
