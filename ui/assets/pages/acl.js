// Access controls: log in with a token (kept in this browser), and the
// tokens, policies and roles pages: list, create, edit and delete each.
// URLs as Consul's UI: /acls/<tab>, /acls/<tab>/create, /acls/<tab>/<id>.
import { api, session } from "../api.js";
import { h, notice, replace, row, table } from "../dom.js";
import { navigate, settings, url } from "../router.js";

const TABS = [["tokens", "Tokens"], ["policies", "Policies"], ["roles", "Roles"]];
const ANONYMOUS = "00000000-0000-0000-0000-000000000002";
const MANAGEMENT_POLICY = "00000000-0000-0000-0000-000000000001";

/** "a, b ,c" -> ["a","b","c"] */
const names = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const linkNames = (list) => (list ?? []).map((x) => x.Name).join(", ");

/**
 * What each tab edits: the API path, the id field, the table's columns, the
 * form's fields (name, label, kind) and how the form becomes a request body.
 */
const KINDS = {
  tokens: {
    singular: "token",
    api: "/v1/acl/token",
    list: "/v1/acl/tokens",
    id: "AccessorID",
    title: (t) => t.Description || t.AccessorID,
    headers: ["AccessorID", "Description", "Policies", "Roles", "Local"],
    cells: (t, link) => [link(h("code", null, t.AccessorID)), t.Description ?? "", linkNames(t.Policies), linkNames(t.Roles), t.Local ? "yes" : "no"],
    fields: [
      ["Description", "Description", "text"],
      ["Policies", "Policies (names, comma separated)", "names"],
      ["Roles", "Roles (names, comma separated)", "names"],
      ["Local", "Local to this datacenter", "checkbox"],
    ],
    deletable: (t) => t.AccessorID !== ANONYMOUS,
  },
  policies: {
    singular: "policy",
    api: "/v1/acl/policy",
    list: "/v1/acl/policies",
    id: "ID",
    title: (p) => p.Name,
    headers: ["Name", "Description", "ID"],
    cells: (p, link) => [link(p.Name), p.Description ?? "", h("code", null, p.ID)],
    fields: [
      ["Name", "Name", "text", true],
      ["Description", "Description", "text"],
      ["Rules", "Rules (HCL)", "code"],
    ],
    deletable: (p) => p.ID !== MANAGEMENT_POLICY,
  },
  roles: {
    singular: "role",
    api: "/v1/acl/role",
    list: "/v1/acl/roles",
    id: "ID",
    title: (r) => r.Name,
    headers: ["Name", "Description", "Policies"],
    cells: (r, link) => [link(r.Name), r.Description ?? "", linkNames(r.Policies)],
    fields: [
      ["Name", "Name", "text", true],
      ["Description", "Description", "text"],
      ["Policies", "Policies (names, comma separated)", "names"],
    ],
    deletable: () => true,
  },
};

/** @param {HTMLElement} main @param {{ dc: string, rest: string[], refresh: () => void }} ctx */
export function render(main, ctx) {
  const [tab = "tokens", id = ""] = ctx.rest;
  if (tab === "login") return login(main, ctx);
  const nav = h("nav", { class: "tabs", "aria-label": "Access control views" }, TABS.map(([t, l]) => h("a", { href: url(ctx.dc, "acls", t), "aria-current": t === tab ? "page" : false }, l)));
  const body = h("div", { id: "acl-body" }, notice("info", "Loading…"));
  replace(main, h("h1", null, "Access controls"), nav, body);
  if (!settings.aclsEnabled) return replace(body, notice("info", "ACLs are disabled on this agent: every request is allowed."));
  const kind = KINDS[tab];
  if (!kind) return replace(body, notice("error", "There is no such page."));
  const fail = (err) =>
    replace(body, notice(err.status === 401 ? "info" : "error", err.status === 401 ? "ACLs are disabled in this datacenter." : err.status === 403 ? "Your token may not see this: log in with a token that has acl = \"read\"." : err.message));
  (id ? edit(body, ctx.dc, tab, kind, id === "create" ? "" : id) : list(body, ctx.dc, tab, kind)).catch(fail);
}

function login(main, ctx) {
  const msg = h("div", { class: "messages", id: "login-messages" });
  const secret = h("input", { id: "login-secret", type: "password", autocomplete: "off", required: true });
  const submit = async (e) => {
    e.preventDefault();
    const previous = session.token;
    session.token = secret.value.trim();
    try {
      const res = await api("/v1/acl/token/self");
      replace(msg, notice("success", `Logged in as ${res.data.Description || res.data.AccessorID}.`));
      navigate(url(ctx.dc, "services"));
    } catch (err) {
      session.token = previous;
      replace(msg, notice("error", err.status === 401 ? "ACLs are disabled: no token is needed." : `That token was not accepted: ${err.message}`));
    }
  };
  replace(main, h("h1", null, "Log in"), msg,
    h("form", { class: "form", id: "login-form", onsubmit: submit },
      h("div", { class: "field" }, h("label", { for: "login-secret" }, "Token (SecretID)"), secret),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Log in"))));
}

async function list(body, dc, tab, kind) {
  const res = await api(kind.list);
  const msg = h("div", { class: "messages", id: "acl-messages" });
  const headers = [...kind.headers, ""];
  const rows = res.data.map((item) => {
    const id = item[kind.id];
    const link = (content) => h("a", { href: url(dc, "acls", tab, id), class: "name" }, content);
    const del = kind.deletable(item)
      ? h("button", { type: "button", class: "danger small", "aria-label": `Delete ${kind.singular} ${kind.title(item)}`, onclick: () => remove(dc, tab, kind, item, msg) }, "Delete")
      : "";
    return row(headers, [...kind.cells(item, link), del], { "data-id": id, "data-name": kind.title(item) });
  });
  replace(body, msg,
    h("div", { class: "actions" }, h("a", { class: "button primary", id: `${kind.singular}-create`, href: url(dc, "acls", tab, "create") }, `Create ${kind.singular}`)),
    rows.length ? table(tab, headers, rows, { class: "list", id: `${tab}-table` }) : notice("info", `No ${tab}.`));
}

async function remove(dc, tab, kind, item, msg) {
  if (!confirm(`Delete ${kind.singular} ${kind.title(item)}?`)) return;
  try {
    await api(`${kind.api}/${encodeURIComponent(item[kind.id])}`, { method: "DELETE" });
    // Deleting the token this browser is logged in with logs it out.
    if (tab === "tokens" && item.SecretID && item.SecretID === session.token) session.token = "";
    navigate(url(dc, "acls", tab));
  } catch (err) {
    replace(msg, notice("error", `Could not delete: ${err.message}`));
  }
}

/** @param {HTMLElement} body @param {string} id "" to create */
async function edit(body, dc, tab, kind, id) {
  const creating = id === "";
  const item = creating ? {} : (await api(`${kind.api}/${encodeURIComponent(id)}`)).data;
  const msg = h("div", { class: "messages", id: "acl-messages" });
  const inputs = {};
  const fields = kind.fields.map(([name, label, type, required]) => {
    const fid = `${kind.singular}-${name.toLowerCase()}`;
    let input;
    if (type === "checkbox") {
      // A token's Local cannot change after it is made.
      input = h("input", { id: fid, type: "checkbox", checked: Boolean(item[name]), disabled: !creating });
      inputs[name] = input;
      return h("div", { class: "field check-field" }, h("label", { for: fid }, input, " ", label));
    }
    const value = type === "names" ? linkNames(item[name]) : (item[name] ?? "");
    input = type === "code"
      ? h("textarea", { id: fid, class: "code", rows: "8", spellcheck: "false", value })
      : h("input", { id: fid, autocomplete: "off", required: Boolean(required), value });
    inputs[name] = input;
    return h("div", { class: "field" }, h("label", { for: fid }, label), input);
  });
  const bodyOf = () => {
    const out = {};
    for (const [name, , type] of kind.fields) {
      const input = inputs[name];
      if (type === "checkbox") out[name] = input.checked;
      else if (type === "names") out[name] = names(input.value).map((Name) => ({ Name }));
      else out[name] = input.value;
    }
    return out;
  };
  const save = async (e) => {
    e.preventDefault();
    try {
      const res = await api(creating ? kind.api : `${kind.api}/${encodeURIComponent(id)}`, { method: "PUT", body: bodyOf() });
      if (creating) navigate(url(dc, "acls", tab, res.data[kind.id]));
      else {
        replace(msg, notice("success", "Saved."));
        await edit(body, dc, tab, kind, id);
        replace(/** @type {HTMLElement} */ (body.querySelector("#acl-messages")), notice("success", "Saved."));
      }
    } catch (err) {
      replace(msg, notice("error", `Could not save: ${err.message}`));
    }
  };
  const facts = creating || tab !== "tokens" ? null : h("dl", { class: "facts" },
    h("dt", null, "AccessorID"), h("dd", null, h("code", { id: "token-accessor" }, item.AccessorID)),
    h("dt", null, "SecretID"), h("dd", null, h("details", null, h("summary", null, "Show"), h("code", { id: "token-secret" }, item.SecretID))),
    h("dt", null, "Created"), h("dd", null, item.CreateTime ?? ""));
  const idFact = creating || tab === "tokens" ? null : h("p", { class: "muted" }, "ID ", h("code", null, item.ID));
  replace(body,
    h("p", { class: "crumbs" }, h("a", { href: url(dc, "acls", tab) }, `All ${tab}`)),
    h("h2", null, creating ? `New ${kind.singular}` : kind.title(item)),
    facts, idFact, msg,
    h("form", { class: "form", id: `${kind.singular}-form`, onsubmit: save },
      fields,
      h("div", { class: "actions" },
        h("button", { type: "submit", class: "primary", id: `${kind.singular}-save` }, creating ? `Create ${kind.singular}` : "Save"),
        !creating && kind.deletable(item) ? h("button", { type: "button", class: "danger", id: `${kind.singular}-delete`, onclick: () => remove(dc, tab, kind, item, msg) }, "Delete") : null,
        h("a", { class: "button", href: url(dc, "acls", tab) }, "Cancel"))));
}
