// Consulate's web UI: the layout, the datacenter switcher, ACL login, and the page router.
import { api, session } from "./assets/api.js";
import { h, notice, replace } from "./assets/dom.js";
import { currentRoute, interceptLinks, navigate, setNavigateHandler, settings, url } from "./assets/router.js";
import * as services from "./assets/pages/services.js";
import * as service from "./assets/pages/service.js";
import * as nodes from "./assets/pages/nodes.js";
import * as node from "./assets/pages/node.js";
import * as kv from "./assets/pages/kv.js";
import * as intentions from "./assets/pages/intentions.js";
import * as config from "./assets/pages/config.js";
import * as ca from "./assets/pages/ca.js";
import * as acl from "./assets/pages/acl.js";

const SECTIONS = [
  ["services", "Services"],
  ["nodes", "Nodes"],
  ["kv", "Key/Value"],
  ["intentions", "Intentions"],
  ["config", "Config entries"],
  ["ca", "CA roots"],
  ["acls", "Access controls"],
];

/** @type {string[]} */
let datacenters = [];
/** @type {(() => void) | null} */
let cleanup = null;
let firstRender = true;

const main = /** @type {HTMLElement} */ (document.getElementById("main"));
const nav = /** @type {HTMLElement} */ (document.getElementById("nav"));
const dcSelect = /** @type {HTMLSelectElement} */ (document.getElementById("dc"));
const tokenArea = /** @type {HTMLElement} */ (document.getElementById("token-area"));

/** @param {import("./assets/router.js").Route} r */
function pick(r) {
  const [section, ...rest] = r.rest;
  switch (section) {
    case "services":
      return rest.length === 0 || rest[0] === "" ? services : service;
    case "nodes":
      return rest.length === 0 || rest[0] === "" ? nodes : node;
    case "kv":
      return kv;
    case "intentions":
      return intentions;
    case "config":
      return config;
    case "ca":
      return ca;
    case "acls":
      return acl;
    default:
      return null;
  }
}

function renderNav(dc, section) {
  replace(
    nav,
    h("ul", null, SECTIONS.map(([id, label]) => h("li", null, h("a", { href: url(dc, id), "aria-current": id === section ? "page" : false }, label)))),
  );
}

function renderDatacenters(dc) {
  const list = datacenters.includes(dc) ? datacenters : [...datacenters, dc];
  replace(dcSelect, list.map((d) => h("option", { value: d, selected: d === dc }, d)));
}

function renderToken() {
  if (!settings.aclsEnabled) return replace(tokenArea);
  const token = session.token;
  replace(
    tokenArea,
    token
      ? h("button", { type: "button", class: "link", onclick: () => { session.token = ""; navigate(url(session.dc, "services")); } }, "Log out")
      : h("a", { href: url(session.dc, "acls", "login") }, "Log in"),
  );
}

function route() {
  cleanup?.();
  cleanup = null;
  const r = currentRoute();
  if (r.dc === "") {
    navigate(url(settings.datacenter, "services"), { replace: true });
    return;
  }
  session.dc = r.dc;
  if (r.rest.length === 0 || r.rest[0] === "") {
    navigate(url(r.dc, "services"), { replace: true });
    return;
  }
  renderNav(r.dc, r.rest[0]);
  renderDatacenters(r.dc);
  renderToken();
  const page = pick(r);
  main.replaceChildren();
  if (!page) {
    replace(main, h("h1", { tabindex: "-1" }, "Page not found"), notice("error", "There is no page at this address."));
    return;
  }
  const result = page.render(main, { dc: r.dc, rest: r.rest.slice(1), query: r.query, refresh: route });
  cleanup = typeof result === "function" ? result : null;
  const heading = main.querySelector("h1");
  if (heading) {
    heading.setAttribute("tabindex", "-1");
    // After a navigation in the app the heading takes the focus (screen readers announce the page); a fresh load leaves it at the top.
    if (!firstRender && (document.activeElement === document.body || document.activeElement === null || !main.contains(document.activeElement))) heading.focus({ preventScroll: true });
    document.title = `${heading.textContent} - ${r.dc} - Consulate`;
  }
  firstRender = false;
}

dcSelect.addEventListener("change", () => {
  const r = currentRoute();
  // The same page in the other datacenter, as far as it exists there: the section's top.
  navigate(url(dcSelect.value, r.rest[0] || "services"));
});

document.querySelector(".skip")?.addEventListener("click", (e) => {
  e.preventDefault();
  main.focus();
});

setNavigateHandler(route);
interceptLinks();
route();
api("/v1/catalog/datacenters", { dc: "" })
  .then((res) => {
    datacenters = res.data;
    renderDatacenters(session.dc);
  })
  .catch(() => {
    datacenters = [settings.datacenter];
  });
