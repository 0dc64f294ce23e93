// Intentions: the list in order of evaluation (precedence), create and edit
// (L4 allow/deny or L7 HTTP permissions), delete, and check a pair.
import { api, watch } from "../api.js";
import { h, notice, replace, row, table } from "../dom.js";
import { navigate, url } from "../router.js";

const HEADERS = ["Order", "Source", "", "Destination", "Action", "Precedence", "Description"];

/** @param {HTMLElement} main @param {{ dc: string, rest: string[], query: URLSearchParams }} ctx */
export function render(main, ctx) {
  const source = ctx.query.get("source") ?? "";
  const destination = ctx.query.get("destination") ?? "";
  if (ctx.rest[0] === "create") return form(main, ctx.dc, source, destination, false);
  if (ctx.rest[0] === "edit") return form(main, ctx.dc, source, destination, source !== "" && destination !== "");
  return list(main, ctx.dc);
}

const exactPath = (source, destination) => `/v1/connect/intentions/exact?source=${encodeURIComponent(source)}&destination=${encodeURIComponent(destination)}`;
const editUrl = (dc, source, destination) => `${url(dc, "intentions", "edit")}?source=${encodeURIComponent(source)}&destination=${encodeURIComponent(destination)}`;

function actionOf(ixn) {
  return ixn.Permissions && ixn.Permissions.length ? `L7 (${ixn.Permissions.length} permission${ixn.Permissions.length === 1 ? "" : "s"})` : ixn.Action;
}

function list(main, dc) {
  const results = h("div", { id: "intentions-results", "aria-live": "polite" }, notice("info", "Loading…"));
  const src = h("input", { id: "check-source", "aria-label": "Source service", placeholder: "source", required: true });
  const dst = h("input", { id: "check-destination", "aria-label": "Destination service", placeholder: "destination", required: true });
  const answer = h("output", { id: "check-result", for: "check-source check-destination" });
  const checker = h(
    "form",
    {
      class: "inline-form",
      id: "intention-check",
      "aria-label": "Check a pair",
      onsubmit: async (e) => {
        e.preventDefault();
        try {
          const res = await api("/v1/connect/intentions/check", { params: { source: src.value, destination: dst.value } });
          replace(answer, h("span", { class: `badge ${res.data.Allowed ? "status-passing" : "status-critical"}`, "data-allowed": String(res.data.Allowed) }, `${src.value} → ${dst.value}: ${res.data.Allowed ? "allowed" : "denied"}`));
        } catch (err) {
          replace(answer, notice("error", err.message));
        }
      },
    },
    h("strong", null, "Check a pair: "), src, " → ", dst, h("button", { type: "submit" }, "Check"), " ", answer,
  );
  replace(main, h("h1", null, "Intentions"), h("div", { class: "actions" }, h("a", { class: "button primary", href: url(dc, "intentions", "create"), id: "intention-create" }, "Create")), checker, results);
  return watch("/v1/connect/intentions", {}, (ixns) => {
    if (!ixns || ixns.length === 0) return replace(results, notice("info", "No intentions: connections follow the default policy."));
    // The API answers in order of evaluation: the first match wins.
    const rows = ixns.map((i, n) =>
      row(HEADERS, [
        String(n + 1),
        i.SourceName,
        "→",
        i.DestinationName,
        h("a", { href: editUrl(dc, i.SourceName, i.DestinationName), class: `badge action-${(i.Action || "l7").toLowerCase()}` }, actionOf(i)),
        String(i.Precedence),
        i.Description ?? "",
      ], { "data-intention": `${i.SourceName}>${i.DestinationName}` }),
    );
    replace(results, h("p", { class: "help" }, "Listed in order of evaluation: the first intention that matches a connection decides it."), table("Intentions", HEADERS, rows, { class: "list", id: "intentions-table" }));
  }, (err) => replace(results, notice("error", `Could not load intentions: ${err.message}`)));
}

const PATH_KINDS = ["PathPrefix", "PathExact", "PathRegex"];

function permissionRow(p, onRemove) {
  const http = p?.HTTP ?? {};
  const kind = PATH_KINDS.find((k) => http[k]) ?? "PathPrefix";
  const el = h(
    "fieldset",
    { class: "permission" },
    h("legend", null, "Permission"),
    h("label", null, "Action ", h("select", { name: "perm-action" }, ["allow", "deny"].map((a) => h("option", { value: a, selected: (p?.Action ?? "allow") === a }, a)))),
    h("label", null, "Path ", h("select", { name: "perm-path-kind" }, PATH_KINDS.map((k) => h("option", { value: k, selected: k === kind }, k)))),
    h("input", { name: "perm-path", "aria-label": "Path", placeholder: "/api", value: http[kind] ?? "" }),
    h("label", null, "Methods ", h("input", { name: "perm-methods", placeholder: "GET, POST", value: (http.Methods ?? []).join(", ") })),
    h("button", { type: "button", class: "small danger", onclick: () => onRemove(el) }, "Remove"),
  );
  return el;
}

function readPermission(fs) {
  const get = (n) => /** @type {HTMLInputElement} */ (fs.querySelector(`[name="${n}"]`)).value.trim();
  const http = {};
  if (get("perm-path")) http[get("perm-path-kind")] = get("perm-path");
  const methods = get("perm-methods").split(/[\s,]+/).filter(Boolean).map((m) => m.toUpperCase());
  if (methods.length) http.Methods = methods;
  return { Action: get("perm-action"), HTTP: http };
}

function form(main, dc, source, destination, editing) {
  const msg = h("div", { class: "messages", id: "intention-messages" });
  const src = h("input", { id: "ixn-source", required: true, value: source, readonly: editing, autocomplete: "off" });
  const dst = h("input", { id: "ixn-destination", required: true, value: destination, readonly: editing, autocomplete: "off" });
  const desc = h("input", { id: "ixn-description", value: "" });
  const mode = h("select", { id: "ixn-mode" }, [["allow", "Allow (L4)"], ["deny", "Deny (L4)"], ["l7", "Application aware (L7)"]].map(([v, l]) => h("option", { value: v }, l)));
  const perms = h("div", { id: "ixn-permissions", class: "permissions" });
  const addPerm = h("button", { type: "button", id: "ixn-add-permission", onclick: () => perms.appendChild(permissionRow(null, (el) => el.remove())) }, "Add permission");
  const l7 = h("div", { class: "l7", hidden: true }, perms, addPerm, h("p", { class: "help" }, "L7 permissions need an http-family protocol (service-defaults) on the destination."));
  const showMode = () => {
    l7.hidden = mode.value !== "l7";
    if (mode.value === "l7" && perms.children.length === 0) perms.appendChild(permissionRow(null, (el) => el.remove()));
  };
  mode.addEventListener("change", showMode);

  const submit = async (e) => {
    e.preventDefault();
    const body = { Description: desc.value };
    if (mode.value === "l7") body.Permissions = [...perms.querySelectorAll("fieldset")].map(readPermission);
    else body.Action = mode.value;
    try {
      await api(exactPath(src.value.trim(), dst.value.trim()), { method: "PUT", body });
      navigate(url(dc, "intentions"));
    } catch (err) {
      replace(msg, notice("error", `Could not save: ${err.message}`));
    }
  };
  const remove = async () => {
    if (!confirm(`Delete the intention ${source} → ${destination}?`)) return;
    try {
      await api(exactPath(source, destination), { method: "DELETE" });
      navigate(url(dc, "intentions"));
    } catch (err) {
      replace(msg, notice("error", `Could not delete: ${err.message}`));
    }
  };

  replace(
    main,
    h("p", { class: "crumbs" }, h("a", { href: url(dc, "intentions") }, "All intentions")),
    h("h1", null, editing ? `${source} → ${destination}` : "New intention"),
    msg,
    h("form", { class: "form", id: "intention-form", onsubmit: submit },
      h("div", { class: "field" }, h("label", { for: "ixn-source" }, "Source service (* for any)"), src),
      h("div", { class: "field" }, h("label", { for: "ixn-destination" }, "Destination service (* for any)"), dst),
      h("div", { class: "field" }, h("label", { for: "ixn-mode" }, "Should this source connect to the destination?"), mode),
      l7,
      h("div", { class: "field" }, h("label", { for: "ixn-description" }, "Description"), desc),
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: "ixn-save" }, "Save"),
        editing ? h("button", { type: "button", class: "danger", id: "ixn-delete", onclick: remove }, "Delete") : null,
        h("a", { class: "button", href: url(dc, "intentions") }, "Cancel"))),
  );
  if (editing) {
    api(exactPath(source, destination), { okStatuses: [404] }).then((res) => {
      if (res.status === 404) return replace(msg, notice("info", "No intention for this pair yet: saving creates it."));
      const i = res.data;
      desc.value = i.Description ?? "";
      if (i.Permissions && i.Permissions.length) {
        mode.value = "l7";
        perms.replaceChildren(...i.Permissions.map((p) => permissionRow(p, (el) => el.remove())));
      } else mode.value = i.Action;
      showMode();
    }).catch((err) => replace(msg, notice("error", err.message)));
  }
}
