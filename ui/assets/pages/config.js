// Config entries: list by kind, view and edit one as JSON (check-and-set on
// its ModifyIndex), create and delete.
import { api, watch } from "../api.js";
import { h, notice, replace, row, table } from "../dom.js";
import { navigate, url } from "../router.js";

export const KINDS = [
  "service-defaults", "proxy-defaults", "service-router", "service-splitter", "service-resolver",
  "ingress-gateway", "terminating-gateway", "api-gateway", "service-intentions", "mesh", "exported-services",
];
const HEADERS = ["Name", "Kind", "Modified at index"];

/** @param {HTMLElement} main @param {{ dc: string, rest: string[], query: URLSearchParams }} ctx */
export function render(main, ctx) {
  const kind = ctx.rest[0] || "service-defaults";
  if (ctx.rest[1] === "create") return edit(main, ctx.dc, kind, "");
  if (ctx.rest[1]) return edit(main, ctx.dc, kind, ctx.rest[1]);
  return list(main, ctx.dc, kind);
}

function list(main, dc, kind) {
  const results = h("div", { id: "config-results", "aria-live": "polite" }, notice("info", "Loading…"));
  const kinds = h("select", { id: "config-kind", "aria-label": "Kind", onchange: (e) => navigate(url(dc, "config", e.target.value)) }, KINDS.map((k) => h("option", { value: k, selected: k === kind }, k)));
  replace(main, h("h1", null, "Config entries"), h("div", { class: "filters" }, h("label", { for: "config-kind" }, "Kind "), kinds, h("a", { class: "button primary", href: url(dc, "config", kind, "create") }, "Create")), results);
  return watch(`/v1/config/${encodeURIComponent(kind)}`, {}, (entries) => {
    const rows = (entries ?? []).map((e) => row(HEADERS, [h("a", { href: url(dc, "config", kind, e.Name), class: "name" }, e.Name), e.Kind, String(e.ModifyIndex)], { "data-entry": e.Name }));
    replace(results, rows.length ? table("Config entries", HEADERS, rows, { class: "list", id: "config-table" }) : notice("info", `No ${kind} entries.`));
  }, (err) => replace(results, notice("error", `Could not load entries: ${err.message}`)));
}

function edit(main, dc, kind, name) {
  const creating = name === "";
  const msg = h("div", { class: "messages", id: "config-messages" });
  const text = h("textarea", { id: "config-json", rows: "20", class: "code", spellcheck: "false", "aria-label": "Entry as JSON" });
  const problem = h("p", { class: "field-error", role: "alert" });
  let index = 0;
  const check = () => {
    try {
      const v = JSON.parse(text.value);
      if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error("the entry must be a JSON object");
      replace(problem, "");
      return v;
    } catch (err) {
      replace(problem, `Invalid JSON: ${err.message}`);
      return null;
    }
  };
  text.addEventListener("input", check);
  const save = async (e) => {
    e.preventDefault();
    const body = check();
    if (!body) return;
    body.Kind = body.Kind ?? kind;
    try {
      const res = await api("/v1/config", { method: "PUT", body, params: { cas: creating ? undefined : index } });
      if (res.data !== true) return replace(msg, notice("warning", "The entry changed since you opened it; reload it before saving."));
      navigate(url(dc, "config", body.Kind, body.Name));
    } catch (err) {
      replace(msg, notice("error", `Could not save: ${err.message}`));
    }
  };
  const remove = async () => {
    if (!confirm(`Delete ${kind} ${name}?`)) return;
    try {
      await api(`/v1/config/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`, { method: "DELETE" });
      navigate(url(dc, "config", kind));
    } catch (err) {
      replace(msg, notice("error", `Could not delete: ${err.message}`));
    }
  };
  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: url(dc, "config", kind) }, kind)),
    h("h1", null, creating ? `New ${kind}` : name),
    msg,
    h("form", { class: "form", id: "config-form", onsubmit: save }, text, problem,
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary", id: "config-save" }, "Save"), creating ? null : h("button", { type: "button", class: "danger", onclick: remove }, "Delete"))),
  );
  if (creating) {
    text.value = JSON.stringify({ Kind: kind, Name: "" }, null, 2);
    return;
  }
  api(`/v1/config/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`, { okStatuses: [404] }).then((res) => {
    if (res.status === 404) return replace(msg, notice("error", `No ${kind} entry named ${name}.`));
    index = res.data.ModifyIndex;
    const { CreateIndex: _c, ModifyIndex: _m, ...entry } = res.data;
    text.value = JSON.stringify(entry, null, 2);
  }).catch((err) => replace(msg, notice("error", err.message)));
}
