// The Connect CA roots (live).
import { watch } from "../api.js";
import { h, notice, replace } from "../dom.js";

/** @param {HTMLElement} main */
export function render(main) {
  const body = h("div", { id: "ca-roots", "aria-live": "polite" }, notice("info", "Loading…"));
  replace(main, h("h1", null, "CA roots"), body);
  return watch("/v1/connect/ca/roots", {}, (r) => {
    if (!r || !r.Roots || r.Roots.length === 0) return replace(body, notice("info", "No CA roots: Connect is off or the CA is not initialised."));
    replace(
      body,
      h("p", null, "Trust domain: ", h("code", null, r.TrustDomain)),
      h("ul", { class: "cards" }, r.Roots.map((root) =>
        h("li", { class: "card", "data-root": root.ID },
          h("div", { class: "card-head" }, root.Active ? h("span", { class: "badge status-passing" }, "active") : h("span", { class: "badge muted" }, "inactive"), h("h2", null, root.Name)),
          h("dl", { class: "facts" },
            h("dt", null, "ID"), h("dd", null, h("code", null, root.ID)),
            h("dt", null, "Key"), h("dd", null, `${root.PrivateKeyType ?? ""} ${root.PrivateKeyBits ?? ""}`),
            h("dt", null, "Valid"), h("dd", null, `${root.NotBefore} → ${root.NotAfter}`)),
          h("details", null, h("summary", null, "Certificate (PEM)"), h("pre", { class: "output" }, root.RootCert)))),
      ),
    );
  }, (err) => replace(body, notice("error", `Could not load CA roots: ${err.message}`)));
}
