// Key/Value: browse folders, create and edit keys (JSON/YAML/HCL-aware
// editor, flags, check-and-set saves that warn when the value changed
// meanwhile), delete keys and whole folders.
import { api, decodeValue } from "../api.js";
import { guessLanguage, highlight, LANGUAGES, validate } from "../editor.js";
import { followKv, kvPath, listFolder, readKey } from "../kv_live.js";
import { h, notice, replace, row, table } from "../dom.js";
import { navigate, url } from "../router.js";

const HEADERS = ["Name", "Type", ""];

/** @param {string} dc @param {string} path a key, or a folder ending in "/" */
const kvUrl = (dc, path, ...more) => url(dc, "kv", ...(path ? [path.replace(/\/$/, ""), ...(path.endsWith("/") ? [""] : [])] : [""]), ...more).replace(/\/\/+/g, "/");

function crumbs(dc, path) {
  const parts = path.split("/").filter((p, i, all) => p !== "" && i < all.length - 1);
  const out = [h("a", { href: url(dc, "kv", "") }, "Key/Value")];
  let acc = "";
  for (const p of parts) {
    acc += `${p}/`;
    out.push(" / ", h("a", { href: kvUrl(dc, acc) }, p));
  }
  return h("p", { class: "crumbs" }, out);
}

/** @param {HTMLElement} main @param {{ dc: string, rest: string[], query: URLSearchParams }} ctx */
export function render(main, ctx) {
  const segs = ctx.rest.length === 0 ? [""] : ctx.rest;
  const last = segs[segs.length - 1];
  if (last === "edit" && segs.length > 1) return editor(main, ctx.dc, segs.slice(0, -1).join("/"), false);
  if (last === "create") return editor(main, ctx.dc, segs.slice(0, -1).map((s) => `${s}/`).join("").replace(/^\/$/, ""), true);
  return folder(main, ctx.dc, segs.join("/"));
}

async function deleteFolder(dc, prefix, msg) {
  if (!confirm(`Delete the folder ${prefix} and every key in it?`)) return false;
  try {
    await api(kvPath(prefix), { method: "DELETE", params: { recurse: true } });
    return true;
  } catch (err) {
    replace(msg, notice("error", `Could not delete: ${err.message}`));
    return false;
  }
}

/** @param {HTMLElement} main @param {string} dc @param {string} prefix "" or "a/b/" */
function folder(main, dc, prefix) {
  const msg = h("div", { class: "messages" });
  const list = h("div", { id: "kv-list", "aria-live": "polite" }, notice("info", "Loading…"));
  const actions = h(
    "div",
    { class: "actions" },
    h("a", { class: "button primary", href: kvUrl(dc, prefix, "create"), id: "kv-create" }, "Create"),
    prefix
      ? h("button", { type: "button", class: "danger", id: "kv-delete-folder", onclick: () => mutate(async () => { if (await deleteFolder(dc, prefix, msg)) navigate(kvUrl(dc, prefix.replace(/[^/]+\/$/, ""))); }) }, "Delete folder")
      : null,
  );
  replace(main, crumbs(dc, prefix), h("h1", null, prefix ? prefix.replace(/\/$/, "").split("/").pop() + "/" : "Key/Value"), actions, msg, list);
  let stop = async () => {};
  let stopped = false;
  // The listing follows every KV write; the page's own deletes run while it is stopped (no read of what they delete in flight).
  const start = () => {
    if (!stopped) stop = followKv((rootKeys) => (prefix ? listFolder(prefix, rootKeys) : Promise.resolve(rootKeys)), draw, failed);
  };
  const mutate = async (fn) => {
    await stop();
    try {
      await fn();
    } finally {
      start();
    }
  };
  const draw = (keys) => {
    const rows = (keys ?? [])
      .filter((k) => k !== prefix)
      .map((k) => {
        const name = k.slice(prefix.length);
        const isFolder = k.endsWith("/");
        return row(HEADERS, [
          h("a", { href: isFolder ? kvUrl(dc, k) : kvUrl(dc, k, "edit"), class: "name" }, name),
          isFolder ? "folder" : "key",
          h("button", {
            type: "button",
            class: "danger small",
            "aria-label": `Delete ${name}`,
            onclick: () => mutate(async () => {
              if (isFolder) return void (await deleteFolder(dc, k, msg));
              if (!confirm(`Delete ${k}?`)) return;
              await api(kvPath(k), { method: "DELETE" }).catch((err) => replace(msg, notice("error", err.message)));
            }),
          }, "Delete"),
        ], { "data-key": k });
      });
    replace(list, rows.length ? table("Keys", HEADERS, rows, { class: "list", id: "kv-table" }) : notice("info", prefix ? "This folder is empty." : "There are no keys yet."));
  };
  const failed = (err) => replace(list, notice("error", `Could not list keys: ${err.message}`));
  start();
  return () => {
    stopped = true;
    void stop();
  };
}

/**
 * @param {HTMLElement} main @param {string} dc
 * @param {string} key the key (edit) or the folder to create in
 * @param {boolean} creating
 */
function editor(main, dc, key, creating) {
  const msg = h("div", { class: "messages", id: "kv-messages" });
  const nameInput = h("input", { id: "kv-key", name: "key", required: true, autocomplete: "off", "aria-describedby": "kv-key-help", value: "" });
  const value = h("textarea", { id: "kv-value", name: "value", rows: "14", spellcheck: "false", "aria-label": "Value", class: "code" });
  const lang = h("select", { id: "kv-lang", "aria-label": "Value format" }, LANGUAGES.map((l) => h("option", { value: l }, l.toUpperCase())));
  const flags = h("input", { id: "kv-flags", type: "number", min: "0", step: "1", value: "0", inputmode: "numeric" });
  const problem = h("p", { id: "kv-problem", class: "field-error", role: "alert" });
  /** @type {{ index: number, value: string } | null} */
  let loaded = null;
  let stopFollowing = async () => {};
  // Set once the key is being deleted or the page left: no following starts after that.
  let closed = false;
  // Each follow() supersedes the one before it, even while that one is still stopping.
  let generation = 0;

  // The highlighted copy of the value sits behind the (transparent-text) textarea and scrolls with it.
  const shade = h("pre", { class: "code-shade", "aria-hidden": "true", id: "kv-highlight" });
  const paint = () => {
    const text = /** @type {HTMLTextAreaElement} */ (value).value;
    // A final newline needs a character after it to take up its line.
    // Very large values are shown plain: highlighting them on every keystroke would lag.
    const mode = text.length > 100_000 ? "text" : /** @type {HTMLSelectElement} */ (lang).value;
    replace(shade, highlight(mode, text).map(([cls, t]) => (cls ? h("span", { class: `tok-${cls}` }, t) : t)), "\u200b");
    shade.scrollTop = value.scrollTop;
  };
  value.addEventListener("scroll", () => (shade.scrollTop = value.scrollTop));
  const check = () => {
    const err = validate(/** @type {HTMLSelectElement} */ (lang).value, /** @type {HTMLTextAreaElement} */ (value).value);
    replace(problem, err ?? "");
    value.setAttribute("aria-invalid", err ? "true" : "false");
    wrap.dataset.lang = /** @type {HTMLSelectElement} */ (lang).value;
    paint();
    return err;
  };
  const wrap = h("div", { class: "code-editor" }, shade, value);
  // Large values are checked once typing pauses rather than on every keystroke.
  let pending = 0;
  value.addEventListener("input", () => {
    clearTimeout(pending);
    if (/** @type {HTMLTextAreaElement} */ (value).value.length < 20_000) check();
    else pending = setTimeout(check, 250);
  });
  lang.addEventListener("change", check);
  // Tab in the editor indents; Escape then Tab leaves it (keyboard users are never trapped).
  let escaped = false;
  value.addEventListener("keydown", (e) => {
    if (e.key === "Escape") escaped = true;
    else if (e.key === "Tab" && !e.shiftKey && !escaped) {
      e.preventDefault();
      const t = /** @type {HTMLTextAreaElement} */ (value);
      const at = t.selectionStart;
      t.setRangeText("  ", at, t.selectionEnd, "end");
      check();
    } else escaped = false;
  });

  const fullKey = () => (creating ? key + /** @type {HTMLInputElement} */ (nameInput).value : key);
  const keyPath = () => `/v1/kv/${fullKey().split("/").map(encodeURIComponent).join("/")}`;

  async function save(e, force = false) {
    e?.preventDefault();
    const k = fullKey();
    if (creating && /** @type {HTMLInputElement} */ (nameInput).value === "") return replace(msg, notice("error", "Give the key a name."));
    const flagValue = Number(/** @type {HTMLInputElement} */ (flags).value || "0");
    if (!Number.isInteger(flagValue) || flagValue < 0) return replace(msg, notice("error", "Flags must be a whole number, 0 or more."));
    const err = check();
    if (err && !force && !confirm(`${err}\n\nSave anyway?`)) return;
    const isFolder = k.endsWith("/");
    const params = { flags: flagValue, cas: creating ? 0 : force ? undefined : loaded?.index };
    // This page's own write must not read as someone else's change: no read of the key is in flight when it is sent.
    await stopFollowing();
    try {
      const res = await api(keyPath(), { method: "PUT", body: isFolder ? "" : /** @type {HTMLTextAreaElement} */ (value).value, params });
      if (res.data !== true) {
        replace(msg, creating
          ? notice("error", `${k} already exists: open it to edit it.`)
          : notice("warning", "The value changed since you opened it; your change was not saved. ",
              h("button", { type: "button", id: "kv-reload", onclick: () => follow() }, "Load the new value"), " ",
              h("button", { type: "button", class: "danger", id: "kv-overwrite", onclick: () => save(null, true) }, "Overwrite it")));
        return;
      }
      if (creating) navigate(isFolder ? kvUrl(dc, k) : kvUrl(dc, k, "edit"));
      else {
        replace(msg, notice("success", "Saved."));
        await follow(false);
      }
    } catch (err2) {
      replace(msg, notice("error", `Could not save: ${err2.message}`));
    }
  }

  async function remove() {
    if (!confirm(`Delete ${key}?`)) return;
    closed = true;
    // No read of the key is in flight when it goes.
    await stopFollowing();
    try {
      await api(keyPath(), { method: "DELETE", params: { cas: loaded?.index } }).then((res) => {
        if (res.data !== true) throw new Error("the value changed since you opened it; reload before deleting");
      });
      navigate(kvUrl(dc, key.replace(/[^/]+$/, "")));
    } catch (err) {
      replace(msg, notice("error", `Could not delete: ${err.message}`));
    }
  }

  /**
   * Reads the key and follows it: the first answer fills the form (with
   * fill false, only the index a save checks against is taken), later ones
   * warn when someone else changed or deleted the key.
   */
  async function follow(fill = true) {
    const mine = ++generation;
    await stopFollowing();
    if (closed || mine !== generation) return;
    /** @type {number | undefined} the ModifyIndex last seen (0: the key did not exist) */
    let seen;
    stopFollowing = followKv(() => readKey(key), (entry) => {
      const now = entry?.ModifyIndex ?? 0;
      if (seen === undefined) opened(entry, fill);
      else if (now === seen) return;
      else if (!entry) replace(msg, notice("warning", "This key was deleted since you opened it."));
      else if (now !== loaded?.index) {
        replace(msg, notice("warning", "This key changed since you opened it: saving will ask before overwriting. ", h("button", { type: "button", id: "kv-reload", onclick: () => follow() }, "Load the new value")));
      }
      seen = now;
    }, (err) => replace(msg, notice("error", `Could not read ${key}: ${err.message}`)));
  }

  /** @param {{ Value: string | null, Flags: number, ModifyIndex: number } | null} entry @param {boolean} fill */
  function opened(entry, fill) {
    if (!entry) {
      loaded = null;
      replace(msg, notice("error", `The key ${key} does not exist (any more).`));
      return;
    }
    const text = decodeValue(entry.Value);
    loaded = { index: entry.ModifyIndex, value: text };
    if (fill) {
      /** @type {HTMLTextAreaElement} */ (value).value = text;
      /** @type {HTMLSelectElement} */ (lang).value = guessLanguage(key, text);
      /** @type {HTMLInputElement} */ (flags).value = String(entry.Flags ?? 0);
      replace(msg);
    }
    check();
  }

  const form = h(
    "form",
    { class: "form", id: "kv-form", onsubmit: save },
    creating
      ? h("div", { class: "field" }, h("label", { for: "kv-key" }, "Key or folder name"), h("div", { class: "prefixed" }, key ? h("span", { class: "muted" }, key) : null, nameInput), h("p", { id: "kv-key-help", class: "help" }, "End the name with / to create a folder."))
      : null,
    h("div", { class: "field" }, h("div", { class: "label-row" }, h("label", { for: "kv-value" }, "Value"), h("label", { class: "lang-switch" }, "Format ", lang)), wrap, problem),
    h("div", { class: "field" }, h("label", { for: "kv-flags" }, "Flags"), flags),
    h("div", { class: "actions" },
      h("button", { type: "submit", class: "primary", id: "kv-save" }, creating ? "Create" : "Save"),
      creating ? null : h("button", { type: "button", class: "danger", id: "kv-delete", onclick: remove }, "Delete"),
      h("a", { href: kvUrl(dc, creating ? key : key.replace(/[^/]+$/, "")), class: "button" }, "Cancel")),
  );
  replace(main, crumbs(dc, creating ? `${key}x` : key), h("h1", null, creating ? "New key" : key), msg, form);
  check();
  if (!creating) void follow();
  return () => {
    closed = true;
    clearTimeout(pending);
    void stopFollowing();
  };
}
