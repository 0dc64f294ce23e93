// The nodes list: health of node checks, address, services; search in ?search=.
import { watch } from "../api.js";
import { h, notice, replace, row, statusBadge, table, worst } from "../dom.js";
import { url } from "../router.js";

const HEADERS = ["Node", "Health", "Address", "Services"];
const PAGE = 100;

/** @param {HTMLElement} main @param {{ dc: string, query: URLSearchParams }} ctx */
export function render(main, ctx) {
  let term = ctx.query.get("search") ?? "";
  let page = 1;
  /** @type {any[] | null} */
  let all = null;
  const results = h("div", { id: "nodes-results", "aria-live": "polite" }, notice("info", "Loading nodes…"));
  const draw = () => {
    if (all === null) return;
    const t = term.toLowerCase();
    const shown = all.filter((n) => !t || n.Node.toLowerCase().includes(t) || n.Address.includes(t));
    const pages = Math.max(1, Math.ceil(shown.length / PAGE));
    page = Math.min(page, pages);
    if (shown.length === 0) return replace(results, notice("info", "No node matches."));
    const rows = shown.slice((page - 1) * PAGE, page * PAGE).map((n) => {
      const nodeChecks = n.Checks.filter((c) => !c.ServiceID);
      const status = worst(nodeChecks);
      return row(HEADERS, [h("a", { href: url(ctx.dc, "nodes", n.Node), class: "name" }, n.Node), statusBadge(status), n.Address, String(n.Services.length)], { "data-node": n.Node, "data-health": status });
    });
    replace(
      results,
      h("p", { class: "count" }, `${shown.length} nodes`),
      table("Nodes", HEADERS, rows, { class: "list", id: "nodes-table" }),
      pages > 1
        ? h("nav", { class: "pager", "aria-label": "Pages" },
            h("button", { type: "button", disabled: page <= 1, onclick: () => { page--; draw(); } }, "Previous"),
            h("span", null, `Page ${page} of ${pages}`),
            h("button", { type: "button", disabled: page >= pages, onclick: () => { page++; draw(); } }, "Next"))
        : null,
    );
  };
  const search = h("input", {
    type: "search",
    placeholder: "Search by name or address",
    "aria-label": "Search nodes",
    value: term,
    oninput: (e) => {
      term = e.target.value;
      page = 1;
      history.replaceState(null, "", url(ctx.dc, "nodes") + (term ? `?search=${encodeURIComponent(term)}` : ""));
      draw();
    },
  });
  replace(main, h("h1", null, "Nodes"), h("div", { class: "filters", role: "search" }, search), results);
  return watch("/v1/internal/ui/nodes", {}, (data) => {
    all = data ?? [];
    draw();
  }, (err) => replace(results, notice("error", `Could not load nodes: ${err.message}`)));
}
