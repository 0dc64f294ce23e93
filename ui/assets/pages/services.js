// The services list: health summary, tags, kind, mesh status; search and
// filters in the URL (?search=, ?status=, ?kind=), paged so 5,000 services stay fast.
import { watch } from "../api.js";
import { h, healthCounts, notice, replace, row, table } from "../dom.js";
import { url } from "../router.js";

const PAGE = 100;
const HEADERS = ["Service", "Health", "Instances", "Kind", "Mesh", "Tags"];

/** @param {any} s */
function statusOf(s) {
  if (s.ChecksCritical > 0) return "critical";
  if (s.ChecksWarning > 0) return "warning";
  return "passing";
}

/** @param {any} s */
function meshLabel(s) {
  if (s.Kind === "connect-proxy" || s.Kind === "mesh-gateway" || s.Kind === "terminating-gateway" || s.Kind === "ingress-gateway" || s.Kind === "api-gateway") return "mesh";
  if (s.ConnectNative) return "native";
  if (s.ConnectedWithProxy) return "in mesh";
  if (s.ConnectedWithGateway) return "via gateway";
  return "";
}

/** @param {HTMLElement} main @param {{ dc: string, query: URLSearchParams }} ctx */
export function render(main, ctx) {
  const q = ctx.query;
  const state = { search: q.get("search") ?? "", status: q.get("status") ?? "", kind: q.get("kind") ?? "", page: Math.max(1, Number(q.get("page") ?? "1") || 1) };
  /** @type {any[] | null} */
  let all = null;
  const results = h("div", { id: "services-results", "aria-live": "polite" }, notice("info", "Loading services…"));
  const count = h("p", { class: "count", id: "services-count" });

  const sync = () => {
    const p = new URLSearchParams();
    if (state.search) p.set("search", state.search);
    if (state.status) p.set("status", state.status);
    if (state.kind) p.set("kind", state.kind);
    if (state.page > 1) p.set("page", String(state.page));
    const qs = p.toString();
    history.replaceState(null, "", url(ctx.dc, "services") + (qs ? `?${qs}` : ""));
    draw();
  };

  const search = h("input", {
    type: "search",
    id: "service-search",
    placeholder: "Search by name or tag",
    value: state.search,
    "aria-label": "Search services",
    oninput: (e) => {
      state.search = e.target.value;
      state.page = 1;
      sync();
    },
  });
  const status = h(
    "select",
    { id: "service-status", "aria-label": "Health status", onchange: (e) => { state.status = e.target.value; state.page = 1; sync(); } },
    ["", "passing", "warning", "critical"].map((s) => h("option", { value: s, selected: s === state.status }, s === "" ? "Any health" : s)),
  );
  const kind = h(
    "select",
    { id: "service-kind", "aria-label": "Kind", onchange: (e) => { state.kind = e.target.value; state.page = 1; sync(); } },
    [["", "Services (no proxies)"], ["all", "Everything"], ["typical", "Typical"], ["gateway", "Gateways"], ["connect-proxy", "Proxies"], ["mesh", "In the mesh"]].map(([v, l]) =>
      h("option", { value: v, selected: v === state.kind }, l),
    ),
  );

  function matches(s) {
    if (state.kind === "" && s.Kind === "connect-proxy") return false;
    if (state.kind === "typical" && s.Kind) return false;
    if (state.kind === "gateway" && !/gateway$/.test(s.Kind ?? "")) return false;
    if (state.kind === "connect-proxy" && s.Kind !== "connect-proxy") return false;
    if (state.kind === "mesh" && meshLabel(s) === "") return false;
    if (state.status && statusOf(s) !== state.status) return false;
    if (state.search) {
      const term = state.search.toLowerCase();
      if (!s.Name.toLowerCase().includes(term) && !(s.Tags ?? []).some((t) => t.toLowerCase().includes(term))) return false;
    }
    return true;
  }

  function draw() {
    if (all === null) return;
    const shown = all.filter(matches);
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    if (state.page > pages) state.page = pages;
    const slice = shown.slice((state.page - 1) * PAGE, state.page * PAGE);
    replace(count, `${shown.length} of ${all.length} services`);
    if (shown.length === 0) {
      replace(results, notice("info", all.length === 0 ? "No services are registered in this datacenter." : "No service matches the filters."));
      return;
    }
    const rows = slice.map((s) =>
      row(HEADERS, [
        h("a", { href: url(ctx.dc, "services", s.Name, "instances"), class: "name" }, s.Name),
        healthCounts(s.ChecksPassing, s.ChecksWarning, s.ChecksCritical),
        String(s.InstanceCount),
        s.Kind ? h("span", { class: "badge kind" }, s.Kind) : "",
        meshLabel(s) ? h("span", { class: "badge mesh" }, meshLabel(s)) : "",
        h("span", { class: "tags" }, (s.Tags ?? []).map((t) => h("span", { class: "tag" }, t))),
      ], { "data-service": s.Name, "data-health": statusOf(s) }),
    );
    replace(results, table("Services", HEADERS, rows, { class: "list", id: "services-table" }), pager(pages));
  }

  function pager(pages) {
    if (pages <= 1) return null;
    const go = (p) => () => {
      state.page = p;
      sync();
      results.querySelector("a.name")?.focus();
    };
    return h(
      "nav",
      { class: "pager", "aria-label": "Pages" },
      h("button", { type: "button", disabled: state.page <= 1, onclick: go(state.page - 1) }, "Previous"),
      h("span", { id: "services-page" }, `Page ${state.page} of ${pages}`),
      h("button", { type: "button", disabled: state.page >= pages, onclick: go(state.page + 1) }, "Next"),
    );
  }

  replace(main, h("h1", null, "Services"), h("div", { class: "filters", role: "search" }, search, status, kind), count, results);
  return watch(
    "/v1/internal/ui/services",
    {},
    (data) => {
      all = data ?? [];
      draw();
    },
    (err) => replace(results, notice("error", `Could not load services: ${err.message}`)),
  );
}

