// A service: its instances with their checks and output (live), and its
// topology (upstreams, downstreams, the intention between each pair).
import { watch } from "../api.js";
import { h, notice, replace, statusBadge, worst } from "../dom.js";
import { url } from "../router.js";

/** A check with its output. @param {any} c */
export function checkItem(c) {
  return h(
    "li",
    { class: `check check-${c.Status}`, "data-check": c.CheckID, "data-status": c.Status },
    h("div", { class: "check-head" }, statusBadge(c.Status), h("strong", null, c.Name || c.CheckID), c.ServiceID ? "" : h("span", { class: "muted" }, " (node check)"), c.Type ? h("span", { class: "muted" }, ` · ${c.Type}`) : ""),
    c.Notes ? h("p", { class: "muted" }, c.Notes) : null,
    c.Output ? h("pre", { class: "output" }, c.Output) : null,
  );
}

/** @param {HTMLElement} main @param {{ dc: string, rest: string[] }} ctx */
export function render(main, ctx) {
  const name = ctx.rest[0] ?? "";
  const tab = ctx.rest[1] || "instances";
  const tabs = h(
    "nav",
    { class: "tabs", "aria-label": "Service views" },
    [["instances", "Instances"], ["topology", "Topology"]].map(([id, label]) => h("a", { href: url(ctx.dc, "services", name, id), "aria-current": id === tab ? "page" : false }, label)),
  );
  const body = h("div", { id: "service-body", "aria-live": "polite" }, notice("info", "Loading…"));
  replace(main, h("p", { class: "crumbs" }, h("a", { href: url(ctx.dc, "services") }, "All services")), h("h1", null, name), tabs, body);
  if (tab === "topology") return topology(body, ctx.dc, name);
  return watch(
    `/v1/health/service/${encodeURIComponent(name)}`,
    {},
    (rows) => {
      if (!rows || rows.length === 0) {
        replace(body, notice("info", "This service has no instances in this datacenter."));
        return;
      }
      replace(
        body,
        h("p", { class: "count" }, `${rows.length} instance${rows.length === 1 ? "" : "s"}`),
        h(
          "ul",
          { class: "cards", id: "instances" },
          rows.map((r) => {
            const status = worst(r.Checks);
            const addr = `${r.Service.Address || r.Node.Address}:${r.Service.Port}`;
            return h(
              "li",
              { class: "card", "data-instance": r.Service.ID, "data-health": status },
              h("div", { class: "card-head" }, statusBadge(status), h("h2", null, r.Service.ID)),
              h("dl", { class: "facts" },
                h("dt", null, "Node"), h("dd", null, h("a", { href: url(ctx.dc, "nodes", r.Node.Node) }, r.Node.Node)),
                h("dt", null, "Address"), h("dd", null, addr),
                r.Service.Kind ? [h("dt", null, "Kind"), h("dd", null, r.Service.Kind)] : null,
                (r.Service.Tags ?? []).length ? [h("dt", null, "Tags"), h("dd", null, r.Service.Tags.map((t) => h("span", { class: "tag" }, t)))] : null,
              ),
              r.Checks.length ? h("ul", { class: "checks" }, r.Checks.map(checkItem)) : notice("info", "No checks."),
            );
          }),
        ),
      );
    },
    (err) => replace(body, notice("error", `Could not load instances: ${err.message}`)),
  );
}

/** What put a service on the topology (Consul's TopologySource labels). */
const SOURCES = {
  "proxy-registration": "· named by the proxy",
  "specific-intention": "· by its intention (transparent proxy)",
  "wildcard-intention": "· by a wildcard intention (transparent proxy)",
  "default-allow": "· allowed by default (transparent proxy)",
  "routing-config": "· routing config only",
};

/** @param {HTMLElement} body @param {string} dc @param {string} name */
function topology(body, dc, name) {
  const side = (title, list, dir) =>
    h(
      "section",
      { class: "topo-side", "aria-label": title, id: `topology-${dir}` },
      h("h2", null, title),
      list.length === 0
        ? notice("info", `No ${title.toLowerCase()}.`)
        : h(
            "ul",
            { class: "topo-list" },
            list.map((s) => {
              const allowed = s.Intention.Allowed;
              const [source, destination] = dir === "upstreams" ? [name, s.Name] : [s.Name, name];
              const edit = `${url(dc, "intentions", s.Intention.HasExact ? "edit" : "create")}?source=${encodeURIComponent(source)}&destination=${encodeURIComponent(destination)}`;
              const routing = s.Source === "routing-config";
              return h(
                "li",
                { class: "topo-item", "data-service": s.Name, "data-allowed": String(allowed), "data-source": s.Source },
                h("a", { href: routing ? url(dc, "config", "service-resolver") : url(dc, "services", s.Name, "instances") }, s.Name),
                " ",
                h("span", { class: `badge ${allowed ? "status-passing" : s.Intention.HasPermissions ? "status-warning" : "status-critical"}` }, allowed ? "allowed" : s.Intention.HasPermissions ? "by request (L7)" : "denied"),
                " ",
                h("span", { class: "muted source" }, SOURCES[s.Source] ?? s.Source),
                s.Intention.DefaultAllow && !s.Intention.HasExact && s.Source !== "default-allow" ? h("span", { class: "muted" }, " by default") : "",
                " ",
                h("a", { href: edit, class: "small" }, s.Intention.HasExact ? "Edit intention" : "Create intention"),
              );
            }),
          ),
    );
  return watch(
    `/v1/internal/ui/service-topology/${encodeURIComponent(name)}`,
    { kind: "" },
    (t) => {
      replace(
        body,
        h("p", null, `Protocol: ${t.Protocol}${t.TransparentProxy ? " · transparent proxy" : ""}`),
        h("div", { class: "topology" }, side("Downstreams", t.Downstreams, "downstreams"), h("div", { class: "topo-center", "aria-hidden": "true" }, `→ ${name} →`), side("Upstreams", t.Upstreams, "upstreams")),
      );
    },
    (err) => replace(body, notice("error", `Could not load the topology: ${err.message}`)),
  );
}
