// Small DOM helpers: elements are built with h(), so text is never parsed as HTML.

/**
 * h("a", { href: "/x", class: "btn" }, "text", child)
 * Attributes starting with "on" are listeners; `false`/`null` attributes are left out.
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs]
 * @param {...unknown} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === false || v === null || v === undefined) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), /** @type {EventListener} */ (v));
    else if (k === "value" && "value" in el) /** @type {HTMLInputElement} */ (el).value = String(v);
    else if (k === "checked" && "checked" in el) /** @type {HTMLInputElement} */ (el).checked = Boolean(v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

/** @param {Node} el @param {unknown[]} children */
function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** Replaces an element's children. @param {Element} el @param {...unknown} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A health status badge. @param {string} status */
export function statusBadge(status) {
  const label = { passing: "passing", warning: "warning", critical: "critical", maintenance: "maintenance" }[status] ?? status;
  return h("span", { class: `badge status-${status}`, "data-status": status }, label);
}

/** "3 passing, 1 critical" counts as badges (zero counts left out). */
export function healthCounts(passing, warning, critical) {
  const out = [];
  if (passing) out.push(h("span", { class: "badge status-passing", title: `${passing} passing checks` }, `✓ ${passing}`));
  if (warning) out.push(h("span", { class: "badge status-warning", title: `${warning} warning checks` }, `! ${warning}`));
  if (critical) out.push(h("span", { class: "badge status-critical", title: `${critical} critical checks` }, `✕ ${critical}`));
  if (out.length === 0) out.push(h("span", { class: "badge muted" }, "no checks"));
  return h("span", { class: "health" }, out);
}

/** The worst status of a list of checks. @param {{Status: string}[]} checks */
export function worst(checks) {
  let s = "passing";
  for (const c of checks) {
    if (c.Status === "critical" || c.Status === "maintenance") return "critical";
    if (c.Status === "warning") s = "warning";
  }
  return s;
}

/** A notice line (role=status so screen readers hear it). @param {string} kind @param {...unknown} text */
export function notice(kind, ...text) {
  return h("p", { class: `notice notice-${kind}`, role: kind === "error" ? "alert" : "status" }, ...text);
}

/** A table with a header row; rows are arrays of cells. */
export function table(caption, headers, rows, attrs = {}) {
  return h(
    "table",
    attrs,
    h("caption", { class: "sr-only" }, caption),
    h("thead", null, h("tr", null, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", null, rows),
  );
}

/** Row cells carry their header as data-label, so the phone layout can show it. */
export function row(headers, cells, attrs = {}) {
  return h("tr", attrs, cells.map((c, i) => h("td", { "data-label": headers[i] }, c)));
}
