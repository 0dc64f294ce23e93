// Access controls: log in with a token (kept in this browser), and the
// tokens, policies and roles pages (list, view, create, delete).
import { api, session } from "../api.js";
import { h, notice, replace, row, table } from "../dom.js";
import { navigate, settings, url } from "../router.js";

const TABS = [["tokens", "Tokens"], ["policies", "Policies"], ["roles", "Roles"]];

/** @param {HTMLElement} main @param {{ dc: string, rest: string[], refresh: () => void }} ctx */
export function render(main, ctx) {
  const [tab = "tokens", id = ""] = ctx.rest;
  if (tab === "login") return login(main, ctx);
  const nav = h("nav", { class: "tabs", "aria-label": "Access control views" }, TABS.map(([t, l]) => h("a", { href: url(ctx.dc, "acls", t), "aria-current": t === tab ? "page" : false }, l)));
  const body = h("div", { id: "acl-body" }, notice("info", "Loading…"));
  replace(main, h("h1", null, "Access controls"), nav, body);
  if (!settings.aclsEnabled) return replace(body, notice("info", "ACLs are disabled on this agent: every request is allowed."));
  const fail = (err) =>
    replace(body, notice(err.status === 401 ? "info" : "error", err.status === 401 ? "ACLs are disabled in this datacenter." : err.status === 403 ? "Your token may not see this: log in with a token that has acl = \"read\"." : err.message));
  if (tab === "policies") (id ? policy(body, ctx.dc, id) : policies(body, ctx.dc)).catch(fail);
  else if (tab === "roles") roles(body, ctx.dc).catch(fail);
  else (id ? token(body, ctx.dc, id) : tokens(body, ctx.dc)).catch(fail);
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

const T_HEADERS = ["AccessorID", "Description", "Policies", "Local", ""];
const ANONYMOUS = "00000000-0000-0000-0000-000000000002";
async function tokens(body, dc) {
  const res = await api("/v1/acl/tokens");
  const msg = h("div", { class: "messages" });
  const desc = h("input", { id: "token-description", placeholder: "Description" });
  const pols = h("input", { id: "token-policies", placeholder: "policy names, comma separated" });
  const create = h("form", { class: "inline-form", id: "token-create", "aria-label": "Create a token", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const names = pols.value.split(",").map((s) => s.trim()).filter(Boolean);
      const t = await api("/v1/acl/token", { method: "PUT", body: { Description: desc.value, Policies: names.map((Name) => ({ Name })) } });
      navigate(url(dc, "acls", "tokens", t.data.AccessorID));
    } catch (err) {
      replace(msg, notice("error", err.message));
    }
  } }, desc, pols, h("button", { type: "submit", class: "primary" }, "Create token"));
  const rows = res.data.map((t) => row(T_HEADERS, [
    h("a", { href: url(dc, "acls", "tokens", t.AccessorID) }, h("code", null, t.AccessorID)),
    t.Description ?? "",
    (t.Policies ?? []).map((p) => p.Name).join(", "),
    t.Local ? "yes" : "no",
    // The anonymous token cannot be deleted (the API refuses it).
    t.AccessorID === ANONYMOUS ? "" : h("button", { type: "button", class: "danger small", onclick: async () => {
      if (!confirm(`Delete token ${t.AccessorID}?`)) return;
      await api(`/v1/acl/token/${t.AccessorID}`, { method: "DELETE" }).then(() => tokens(body, dc)).catch((err) => replace(msg, notice("error", err.message)));
    } }, "Delete"),
  ]));
  replace(body, msg, create, table("Tokens", T_HEADERS, rows, { class: "list", id: "tokens-table" }));
}

async function token(body, dc, id) {
  const res = await api(`/v1/acl/token/${encodeURIComponent(id)}`);
  const t = res.data;
  replace(body, h("h2", null, t.Description || t.AccessorID),
    h("dl", { class: "facts" },
      h("dt", null, "AccessorID"), h("dd", null, h("code", null, t.AccessorID)),
      h("dt", null, "SecretID"), h("dd", null, h("details", null, h("summary", null, "Show"), h("code", null, t.SecretID))),
      h("dt", null, "Policies"), h("dd", null, (t.Policies ?? []).map((p) => h("a", { href: url(dc, "acls", "policies", p.ID), class: "tag" }, p.Name))),
      h("dt", null, "Roles"), h("dd", null, (t.Roles ?? []).map((r) => r.Name).join(", ")),
      h("dt", null, "Created"), h("dd", null, t.CreateTime ?? "")),
    h("a", { href: url(dc, "acls", "tokens") }, "All tokens"));
}

const P_HEADERS = ["Name", "Description", "ID"];
async function policies(body, dc) {
  const res = await api("/v1/acl/policies");
  const msg = h("div", { class: "messages" });
  const name = h("input", { id: "policy-name", placeholder: "Name", required: true });
  const rules = h("textarea", { id: "policy-rules", class: "code", rows: "5", placeholder: 'service_prefix "" { policy = "read" }', "aria-label": "Rules (HCL)" });
  const create = h("form", { class: "form", id: "policy-create", "aria-label": "Create a policy", onsubmit: async (e) => {
    e.preventDefault();
    try {
      const p = await api("/v1/acl/policy", { method: "PUT", body: { Name: name.value, Rules: rules.value } });
      navigate(url(dc, "acls", "policies", p.data.ID));
    } catch (err) {
      replace(msg, notice("error", err.message));
    }
  } }, h("div", { class: "field" }, h("label", { for: "policy-name" }, "New policy"), name), rules, h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create policy")));
  const rows = res.data.map((p) => row(P_HEADERS, [h("a", { href: url(dc, "acls", "policies", p.ID) }, p.Name), p.Description ?? "", h("code", null, p.ID)]));
  replace(body, msg, table("Policies", P_HEADERS, rows, { class: "list", id: "policies-table" }), create);
}

async function policy(body, dc, id) {
  const res = await api(`/v1/acl/policy/${encodeURIComponent(id)}`);
  const p = res.data;
  replace(body, h("h2", null, p.Name), p.Description ? h("p", null, p.Description) : null, h("pre", { class: "output" }, p.Rules || "(no rules)"), h("a", { href: url(dc, "acls", "policies") }, "All policies"));
}

const R_HEADERS = ["Name", "Description", "Policies"];
async function roles(body) {
  const res = await api("/v1/acl/roles");
  const rows = res.data.map((r) => row(R_HEADERS, [r.Name, r.Description ?? "", (r.Policies ?? []).map((p) => p.Name).join(", ")]));
  replace(body, rows.length ? table("Roles", R_HEADERS, rows, { class: "list" }) : notice("info", "No roles."));
}
