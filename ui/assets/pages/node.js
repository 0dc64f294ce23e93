// A node: its checks with output, its service instances, metadata, and its
// sessions (lock sessions), which can be invalidated.
import { api, watch } from "../api.js";
import { h, notice, replace, row, statusBadge, table, worst } from "../dom.js";
import { url } from "../router.js";
import { checkItem } from "./service.js";

const SERVICE_HEADERS = ["Service", "ID", "Port", "Tags"];
const SESSION_HEADERS = ["Session", "Name", "Behavior", "TTL", "Lock delay", ""];

/** @param {HTMLElement} main @param {{ dc: string, rest: string[] }} ctx */
export function render(main, ctx) {
  const name = ctx.rest[0] ?? "";
  const info = h("div", { id: "node-info", "aria-live": "polite" }, notice("info", "Loading…"));
  const sessions = h("section", { id: "node-sessions", "aria-label": "Lock sessions" }, h("h2", null, "Lock sessions"), notice("info", "Loading…"));
  const msg = h("div", { class: "messages" });
  replace(main, h("p", { class: "crumbs" }, h("a", { href: url(ctx.dc, "nodes") }, "All nodes")), h("h1", null, name), msg, info, sessions);

  const stopNode = watch(`/v1/internal/ui/node/${encodeURIComponent(name)}`, {}, (n) => {
    if (!n) return replace(info, notice("error", `No node "${name}" in this datacenter.`));
    const nodeChecks = n.Checks.filter((c) => !c.ServiceID);
    replace(
      info,
      h("dl", { class: "facts" },
        h("dt", null, "Health"), h("dd", null, statusBadge(worst(nodeChecks))),
        h("dt", null, "Address"), h("dd", null, n.Address),
        h("dt", null, "ID"), h("dd", null, h("code", null, n.ID)),
        Object.entries(n.Meta ?? {}).map(([k, v]) => [h("dt", null, k), h("dd", null, v)]),
      ),
      h("section", { "aria-label": "Health checks", id: "node-checks" }, h("h2", null, "Health checks"), n.Checks.length ? h("ul", { class: "checks" }, n.Checks.map(checkItem)) : notice("info", "No checks.")),
      h("section", { "aria-label": "Service instances", id: "node-services" }, h("h2", null, "Service instances"),
        n.Services.length
          ? table("Service instances", SERVICE_HEADERS, n.Services.map((s) => row(SERVICE_HEADERS, [h("a", { href: url(ctx.dc, "services", s.Service, "instances") }, s.Service), s.ID, String(s.Port), (s.Tags ?? []).join(", ")])), { class: "list" })
          : notice("info", "No services.")),
    );
  }, (err) => replace(info, notice("error", `Could not load the node: ${err.message}`)), { okStatuses: [404] });

  const stopSessions = watch(`/v1/session/node/${encodeURIComponent(name)}`, {}, (list) => {
    const rows = (list ?? []).map((s) =>
      row(SESSION_HEADERS, [
        h("code", null, s.ID),
        s.Name || "",
        s.Behavior,
        s.TTL || "",
        `${Math.round((s.LockDelay ?? 0) / 1e6)} ms`,
        h("button", {
          type: "button",
          class: "danger",
          "data-invalidate": s.ID,
          onclick: async () => {
            if (!confirm(`Invalidate session ${s.ID}? Locks it holds are released.`)) return;
            try {
              await api(`/v1/session/destroy/${encodeURIComponent(s.ID)}`, { method: "PUT" });
              replace(msg, notice("success", `Session ${s.ID} invalidated.`));
            } catch (err) {
              replace(msg, notice("error", `Could not invalidate: ${err.message}`));
            }
          },
        }, "Invalidate"),
      ], { "data-session": s.ID }),
    );
    replace(sessions, h("h2", null, "Lock sessions"), rows.length ? table("Lock sessions", SESSION_HEADERS, rows, { class: "list" }) : notice("info", "No sessions."));
  }, (err) => replace(sessions, h("h2", null, "Lock sessions"), notice("error", `Could not load sessions: ${err.message}`)));

  return () => {
    stopNode();
    stopSessions();
  };
}
