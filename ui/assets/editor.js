// The KV value editor: a textarea that knows JSON, YAML and HCL well enough
// to say where a value is malformed before it is saved.

export const LANGUAGES = ["text", "json", "yaml", "hcl"];

/** A first guess from the key's name, then from the value. @param {string} key @param {string} value */
export function guessLanguage(key, value) {
  const ext = /\.([a-z]+)$/i.exec(key)?.[1]?.toLowerCase();
  if (ext === "json") return "json";
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (ext === "hcl" || ext === "tf") return "hcl";
  const t = value.trim();
  if (/^[[{]/.test(t)) {
    try {
      JSON.parse(t);
      return "json";
    } catch {
      /* not JSON */
    }
  }
  return "text";
}

/**
 * Null when the value is well formed for `lang`, else what is wrong and where.
 * @param {string} lang @param {string} text
 * @returns {string | null}
 */
export function validate(lang, text) {
  if (lang === "json") return validateJson(text);
  if (lang === "yaml") return validateYaml(text);
  if (lang === "hcl") return validateHcl(text);
  return null;
}

function validateJson(text) {
  if (text.trim() === "") return null;
  try {
    JSON.parse(text);
    return null;
  } catch (err) {
    return `Invalid JSON: ${/** @type {Error} */ (err).message}`;
  }
}

/** Brackets and quotes must balance; reports the line of the first that does not. */
function balance(text, comment) {
  const stack = [];
  const pairs = { "}": "{", "]": "[", ")": "(" };
  let quote = "";
  let line = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === "\n") {
      line++;
      if (quote === "'" || (quote === '"' && comment === "#")) return `unterminated string on line ${line - 1}`;
      continue;
    }
    if (quote) {
      if (ch === "\\") i++;
      else if (ch === quote) quote = "";
      continue;
    }
    if (comment && text.startsWith(comment, i)) {
      while (i < text.length && text[i] !== "\n") i++;
      i--;
      continue;
    }
    if (ch === '"' || (ch === "'" && comment === "")) quote = ch;
    else if (ch === "{" || ch === "[" || ch === "(") stack.push([ch, line]);
    else if (ch in pairs) {
      const top = stack.pop();
      if (!top || top[0] !== pairs[ch]) return `unexpected "${ch}" on line ${line}`;
    }
  }
  if (quote) return "unterminated string at the end";
  if (stack.length) return `"${stack[stack.length - 1][0]}" opened on line ${stack[stack.length - 1][1]} is never closed`;
  return null;
}

function validateHcl(text) {
  const b = balance(text, "#");
  if (b) return `Invalid HCL: ${b}`;
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i].replace(/(#|\/\/).*$/, "").trim();
    if (l === "" || /^[}\]),]+$/.test(l)) continue;
    // key = value, a block header `name "label" {`, or a continuation of a list or object.
    if (/^[A-Za-z_"][\w\-."]*\s*=/.test(l) || /^[A-Za-z_][\w-]*(\s+"[^"]*")*\s*\{/.test(l) || /^["\d\[{\-tfn]/.test(l)) continue;
    return `Invalid HCL: line ${i + 1} is neither "key = value" nor a block`;
  }
  return null;
}

function validateYaml(text) {
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (/^\t/.test(raw) || /^ *\t/.test(raw)) return `Invalid YAML: line ${i + 1} is indented with a tab`;
    const l = raw.replace(/\s+#.*$/, "").trim();
    if (l === "" || l.startsWith("#") || l === "---" || l === "...") continue;
    if (/^- /.test(l) || l === "-" || /^[^:]+:( |$)/.test(l) || /^["'[{|>]/.test(l) || /^[^:]+$/.test(l)) {
      const q = (l.match(/"/g) ?? []).length;
      if (q % 2 === 1 && !/\\"/.test(l)) return `Invalid YAML: unterminated string on line ${i + 1}`;
      if (/^[^:"']+:[^ /]/.test(l) && !/^[^:]+:\/\//.test(l) && !/^\w+:\w+$/.test(l)) continue;
      continue;
    }
    return `Invalid YAML: line ${i + 1} cannot be parsed`;
  }
  const flow = balance(text.replace(/#.*$/gm, ""), "");
  return flow && /[[{]/.test(text) ? `Invalid YAML: ${flow}` : null;
}
