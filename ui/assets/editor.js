// The KV value editor's language support: JSON, YAML and HCL are checked by
// small parsers that say what is wrong and on which line, and split into
// tokens for the highlighted view behind the textarea. No DOM here.

export const LANGUAGES = ["text", "json", "yaml", "hcl"];

/** A first guess from the key's name, then from the value. @param {string} key @param {string} value */
export function guessLanguage(key, value) {
  const ext = /\.([a-z]+)$/i.exec(key)?.[1]?.toLowerCase();
  if (ext === "json") return "json";
  if (ext === "yaml" || ext === "yml") return "yaml";
  if (ext === "hcl" || ext === "tf" || ext === "nomad") return "hcl";
  const t = value.trim();
  if (/^[[{]/.test(t) && validateJson(t) === null) return "json";
  if (/^[A-Za-z_][\w-]*(\s+"[^"\n]*")*\s*\{/m.test(t) && validateHcl(t) === null) return "hcl";
  if (/^[\w"'-][^\n:]*:(\s|$)/m.test(t) && validateYaml(t) === null) return "yaml";
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

class SyntaxProblem extends Error {
  /** @param {number} line @param {string} message */
  constructor(line, message) {
    super(message);
    this.line = line;
  }
}

const lineAt = (text, pos) => {
  let line = 1;
  for (let i = 0; i < pos && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
};
const columnAt = (text, pos) => pos - text.lastIndexOf("\n", pos - 1);
const describe = (ch) => (ch === undefined ? "the end of the value" : ch === "\n" ? "a line break" : `"${ch}"`);

// ---- JSON: a strict recursive-descent check (RFC 8259), with line and column ----

export function validateJson(text) {
  if (text.trim() === "") return null;
  let i = 0;
  const fail = (what) => {
    throw new SyntaxProblem(lineAt(text, i), `line ${lineAt(text, i)}, column ${columnAt(text, i)}: ${what}, found ${describe(text[i])}`);
  };
  const ws = () => {
    while (i < text.length && " \t\r\n".includes(text[i])) i++;
  };
  const string = () => {
    i++;
    for (;;) {
      const ch = text[i];
      if (ch === undefined || ch === "\n") fail("unterminated string");
      if (ch === '"') return void i++;
      if (ch === "\\") {
        const e = text[i + 1];
        if (e === "u" && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else (i++, fail("invalid escape"));
      } else if (ch.charCodeAt(0) < 0x20) fail("control character in a string");
      else i++;
    }
  };
  const value = (depth) => {
    if (depth > 512) fail("nesting too deep");
    ws();
    const ch = text[i];
    if (ch === "{") {
      i++;
      ws();
      if (text[i] === "}") return void i++;
      for (;;) {
        ws();
        if (text[i] !== '"') fail('expected a property name in double quotes');
        string();
        ws();
        if (text[i] !== ":") fail('expected ":" after the property name');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") return void i++;
        fail('expected "," or "}" after a property value');
      }
    }
    if (ch === "[") {
      i++;
      ws();
      if (text[i] === "]") return void i++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") return void i++;
        fail('expected "," or "]" after an array element');
      }
    }
    if (ch === '"') return string();
    const m = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null)/.exec(text.slice(i, i + 400));
    if (m) return void (i += m[0].length);
    fail("expected a value");
  };
  try {
    value(0);
    ws();
    if (i < text.length) fail("unexpected text after the value");
    return null;
  } catch (err) {
    if (err instanceof SyntaxProblem) return `Invalid JSON: ${err.message}`;
    throw err;
  }
}

// ---- YAML: block structure (indentation, mappings, sequences), quotes and flow collections ----

/** Where a flow collection or a quoted scalar ends on a line, or the problem. */
function scanScalar(s, lineNo) {
  let depth = 0;
  let quote = "";
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote) {
      if (quote === '"' && ch === "\\") i++;
      else if (ch === quote) {
        if (quote === "'" && s[i + 1] === "'") i++;
        else quote = "";
      }
      continue;
    }
    if (ch === "#" && (i === 0 || /\s/.test(s[i - 1]))) break;
    if ((ch === '"' || ch === "'") && (i === 0 || depth > 0 || /[\s,[{:]/.test(s[i - 1]))) {
      if (i === 0 || depth > 0) quote = ch;
    } else if (ch === "[" || ch === "{") depth++;
    else if (ch === "]" || ch === "}") {
      if (--depth < 0) throw new SyntaxProblem(lineNo, `line ${lineNo}: "${ch}" closes nothing`);
    } else if (ch === ":" && depth === 0 && /\s/.test(s[i + 1] ?? "\n") && !/^["']/.test(s)) {
      throw new SyntaxProblem(lineNo, `line ${lineNo}: a mapping value is not allowed here (quote a value that contains ": ")`);
    }
  }
  return { depth, quote };
}

const YAML_KEY = /^((?:"(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"{[\]},&*!|>%@`-][^#]*?|-[^\s][^#]*?|\?\s.*?)):(?:\s+(.*)|$)/;

export function validateYaml(text) {
  /** @type {{ indent: number, kind: "map" | "seq", keys: Map<string, number> }[]} */
  const stack = [];
  let opener = -1; // the indent of a "key:" or "-" line whose value is on the lines below
  let blockScalar = -1; // inside "key: |": lines deeper than this belong to the scalar
  let flow = null; // an unfinished flow collection or quoted scalar: { depth, quote }
  let lastScalar = -1; // the indent of a line whose plain value may continue below
  try {
    const lines = text.split("\n");
    for (let n = 0; n < lines.length; n++) {
      const lineNo = n + 1;
      const raw = lines[n].replace(/\r$/, "");
      const indent = /^ */.exec(raw)[0].length;
      if (raw[indent] === "\t" || (raw.trim() !== "" && /^\s*\t/.test(raw))) throw new SyntaxProblem(lineNo, `line ${lineNo} is indented with a tab (YAML allows spaces only)`);
      const content = raw.slice(indent);
      if (blockScalar >= 0) {
        if (content === "" || indent > blockScalar) continue;
        blockScalar = -1;
      }
      if (flow) {
        const r = scanScalar(content, lineNo);
        const depth = flow.depth + r.depth;
        flow = depth > 0 || r.quote ? { depth, quote: r.quote } : null;
        continue;
      }
      if (content === "" || content.startsWith("#")) continue;
      if (/^(---|\.\.\.)(\s|$)/.test(content)) {
        stack.length = 0;
        opener = -1;
        lastScalar = -1;
        continue;
      }
      if (content.startsWith("%")) continue;
      // Close deeper levels; an indent between levels is an error.
      while (stack.length && indent < stack[stack.length - 1].indent) stack.pop();
      let top = stack[stack.length - 1];
      if (top && indent > top.indent && opener < 0) {
        if (lastScalar >= 0 && indent > lastScalar && !YAML_KEY.test(content) && !content.startsWith("- ")) continue; // a plain scalar going on
        throw new SyntaxProblem(lineNo, `line ${lineNo}: unexpected indentation`);
      }
      if (top && indent < top.indent + (opener >= 0 ? 1 : 0) && indent !== top.indent) throw new SyntaxProblem(lineNo, `line ${lineNo}: the indentation matches no outer level`);
      let rest = content;
      let at = indent;
      // "- " items, possibly nested on one line ("- - a", "- key: v").
      while (rest === "-" || rest.startsWith("- ")) {
        top = stack[stack.length - 1];
        if (!top || at > top.indent || (top.indent === at && top.kind === "map" && opener === at)) stack.push((top = { indent: at, kind: "seq", keys: new Map() }));
        else if (top.kind !== "seq") throw new SyntaxProblem(lineNo, `line ${lineNo}: a sequence item where a mapping key was expected`);
        opener = -1;
        const after = rest.slice(1);
        const pad = /^ */.exec(after)[0].length;
        at += 1 + pad;
        rest = after.slice(pad);
        if (rest === "" || rest.startsWith("#")) {
          opener = at - 1 - pad;
          rest = "";
          break;
        }
      }
      lastScalar = -1;
      if (rest === "") continue;
      const key = YAML_KEY.exec(rest);
      if (key) {
        // "key:" followed by "- " items at the key's own indent: the next key ends that sequence.
        if (stack.length > 1 && stack[stack.length - 1].kind === "seq" && stack[stack.length - 1].indent === at && stack[stack.length - 2].indent === at) stack.pop();
        top = stack[stack.length - 1];
        if (!top || at > top.indent) stack.push((top = { indent: at, kind: "map", keys: new Map() }));
        else if (top.kind !== "map") throw new SyntaxProblem(lineNo, `line ${lineNo}: a mapping key where a sequence item ("- ") was expected`);
        const name = key[1].trim().replace(/^(["'])(.*)\1$/, "$2");
        const seen = top.keys.get(name);
        if (seen !== undefined) throw new SyntaxProblem(lineNo, `line ${lineNo}: duplicate key "${name}" (first on line ${seen})`);
        top.keys.set(name, lineNo);
        const value = (key[2] ?? "").trim();
        opener = -1;
        if (value === "" || value.startsWith("#") || /^[&!][^\s]*(\s+#.*)?$/.test(value)) opener = at;
        else if (/^[|>][-+0-9]*(\s+#.*)?$/.test(value)) blockScalar = at;
        else {
          const r = scanScalar(value, lineNo);
          if (r.depth > 0 || r.quote) flow = r;
          else lastScalar = at;
        }
        continue;
      }
      // A bare scalar: the document itself, or a sequence item's value.
      top = stack[stack.length - 1];
      if (top && top.kind === "map" && at === top.indent) throw new SyntaxProblem(lineNo, `line ${lineNo}: expected "key: value"`);
      if (/^[|>][-+0-9]*(\s+#.*)?$/.test(rest)) blockScalar = at - 1;
      else {
        const r = scanScalar(rest, lineNo);
        if (r.depth > 0 || r.quote) flow = r;
        else lastScalar = at;
      }
      opener = -1;
    }
    if (flow) throw new SyntaxProblem(lines.length, flow.quote ? "a quoted string is never closed" : "a flow collection ([ or {) is never closed");
    return null;
  } catch (err) {
    if (err instanceof SyntaxProblem) return `Invalid YAML: ${err.message}`;
    throw err;
  }
}

// ---- HCL (native syntax, as HCL 2 reads it and HCL 1 files use it) ----

/** @typedef {{ t: string, v: string, line: number }} Tok */

/** @param {string} text @returns {Tok[]} */
function hclTokens(text) {
  /** @type {Tok[]} */
  const out = [];
  let i = 0;
  let line = 1;
  const err = (what) => {
    throw new SyntaxProblem(line, `line ${line}: ${what}`);
  };
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\n") {
      out.push({ t: "nl", v: "\n", line });
      line++;
      i++;
    } else if (ch === " " || ch === "\t" || ch === "\r") i++;
    else if (ch === "#" || (ch === "/" && text[i + 1] === "/")) {
      while (i < text.length && text[i] !== "\n") i++;
    } else if (ch === "/" && text[i + 1] === "*") {
      const end = text.indexOf("*/", i + 2);
      if (end < 0) err("a /* comment is never closed");
      for (let k = i; k < end; k++) if (text[k] === "\n") line++;
      i = end + 2;
    } else if (ch === '"') {
      const start = line;
      let depth = 0;
      let j = i + 1;
      for (;; j++) {
        const c = text[j];
        if (c === undefined || (c === "\n" && depth === 0)) throw new SyntaxProblem(start, `line ${start}: a string is never closed`);
        if (c === "\n") line++;
        if (c === "\\") j++;
        else if ((c === "$" || c === "%") && text[j + 1] === "{" && text[j - 1] !== c) (depth++, j++);
        else if (c === "}" && depth > 0) depth--;
        else if (c === '"' && depth === 0) break;
      }
      out.push({ t: "str", v: text.slice(i, j + 1), line: start });
      i = j + 1;
    } else if (ch === "<" && text[i + 1] === "<" && /^<<-?[A-Za-z_]\w*\r?\n/.test(text.slice(i, i + 100))) {
      const m = /^<<-?([A-Za-z_]\w*)\r?\n/.exec(text.slice(i));
      const start = line;
      const body = text.slice(i + m[0].length);
      const end = new RegExp(`^[ \\t]*${m[1]}[ \\t]*\\r?$`, "m").exec(body);
      if (!end) throw new SyntaxProblem(start, `line ${start}: the heredoc ${m[1]} is never closed`);
      const len = m[0].length + end.index + end[0].length;
      for (let k = i; k < i + len; k++) if (text[k] === "\n") line++;
      out.push({ t: "str", v: text.slice(i, i + len), line: start });
      i += len;
    } else if (/[A-Za-z_]/.test(ch)) {
      const m = /^[A-Za-z_][\w-]*/.exec(text.slice(i, i + 512));
      out.push({ t: "id", v: m[0], line });
      i += m[0].length;
    } else if (/[0-9]/.test(ch)) {
      const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 512));
      out.push({ t: "num", v: m[0], line });
      i += m[0].length;
    } else {
      const op = ["==", "!=", "<=", ">=", "&&", "||", "=>", "..."].find((o) => text.startsWith(o, i)) ?? ch;
      if (!"{}[]()=:,.?!+-*/%<>".includes(op[0])) err(`unexpected character "${ch}"`);
      out.push({ t: op, v: op, line });
      i += op.length;
    }
  }
  out.push({ t: "eof", v: "", line });
  return out;
}

export function validateHcl(text) {
  try {
    const toks = hclTokens(text);
    let p = 0;
    const peek = () => toks[p];
    const next = () => toks[p++];
    const fail = (what) => {
      const tk = peek();
      throw new SyntaxProblem(tk.line, `line ${tk.line}: ${what}, found ${tk.t === "eof" ? "the end of the value" : tk.t === "nl" ? "a line break" : `"${tk.v}"`}`);
    };
    const skipNl = () => {
      while (peek().t === "nl") p++;
    };
    const expect = (t, what) => (peek().t === t ? next() : fail(`expected ${what}`));
    let depth = 0;
    const deeper = () => {
      if (++depth > 256) fail("nesting too deep");
    };

    // Expressions: operands joined by operators, with a ? : conditional.
    /** @param {boolean} nested newlines are ignored inside () and [] */
    const operand = (nested) => {
      deeper();
      if (nested) skipNl();
      const tk = peek();
      if (tk.t === "-" || tk.t === "!") {
        next();
        operand(nested);
      } else if (tk.t === "str" || tk.t === "num") next();
      else if (tk.t === "id") {
        next();
        if (peek().t === "(") {
          next();
          skipNl();
          while (peek().t !== ")") {
            expr(true);
            skipNl();
            if (peek().t === "...") next();
            if (peek().t === ",") (next(), skipNl());
            else if (peek().t !== ")") fail('expected "," or ")" in the function call');
          }
          next();
        }
      } else if (tk.t === "(") {
        next();
        skipNl();
        expr(true);
        skipNl();
        expect(")", '")"');
      } else if (tk.t === "[") {
        next();
        skipNl();
        if (peek().t === "id" && peek().v === "for") forExpr("]");
        else
          while (peek().t !== "]") {
            expr(true);
            skipNl();
            if (peek().t === ",") (next(), skipNl());
            else if (peek().t !== "]") fail('expected "," or "]" in the list');
          }
        next();
      } else if (tk.t === "{") {
        next();
        skipNl();
        if (peek().t === "id" && peek().v === "for") forExpr("}");
        else
          while (peek().t !== "}") {
            if (peek().t === "(") operand(false);
            else if (["id", "str", "num"].includes(peek().t)) next();
            else fail("expected an object key");
            if (peek().t !== "=" && peek().t !== ":") fail('expected "=" or ":" after the object key');
            next();
            expr(false);
            if (peek().t === "," || peek().t === "nl") {
              next();
              skipNl();
            } else if (peek().t !== "}") fail('expected "," , a line break or "}" after an object item');
          }
        next();
      } else fail("expected a value");
      // Traversals: .name, .0, [index], .*, [*]
      for (;;) {
        if (peek().t === "." && ["id", "num", "*"].includes(toks[p + 1].t)) p += 2;
        else if (peek().t === "[") {
          next();
          if (peek().t === "*") next();
          else expr(true);
          skipNl();
          expect("]", '"]"');
        } else break;
      }
      depth--;
    };
    const BINARY = new Set(["==", "!=", "<=", ">=", "<", ">", "&&", "||", "+", "-", "*", "/", "%"]);
    /** @param {boolean} nested newlines are ignored inside () and [] */
    const expr = (nested) => {
      operand(nested);
      for (;;) {
        if (nested) skipNl();
        if (BINARY.has(peek().t)) {
          next();
          operand(nested);
        } else if (peek().t === "?") {
          next();
          expr(nested);
          if (nested) skipNl();
          expect(":", '":" in the conditional');
          expr(nested);
        } else return;
      }
    };
    const forExpr = (close) => {
      // for k, v in coll : result [if cond]  (checked for balance, not meaning)
      let level = 0;
      while (!(level === 0 && peek().t === close)) {
        const t = next().t;
        if (t === "eof") fail(`expected "${close}" to close the for expression`);
        if (t === "[" || t === "{" || t === "(") level++;
        if (t === "]" || t === "}" || t === ")") level--;
      }
    };

    /** A body: attributes and blocks, until `end` ("eof" or "}"). */
    const body = (end) => {
      deeper();
      /** @type {Map<string, number>} */
      const attrs = new Map();
      for (;;) {
        skipNl();
        if (peek().t === end) return void depth--;
        const name = peek();
        if (name.t !== "id" && name.t !== "str") fail(end === "eof" ? 'expected an attribute ("name = value") or a block ("name {")' : 'expected an attribute, a block or "}"');
        next();
        if (peek().t === "=" || (peek().t === ":" && name.t === "str")) {
          next();
          const key = name.v.replace(/^"|"$/g, "");
          const seen = attrs.get(key);
          if (seen !== undefined) throw new SyntaxProblem(name.line, `line ${name.line}: the attribute "${key}" is defined twice (first on line ${seen})`);
          attrs.set(key, name.line);
          expr(false);
        } else {
          while (peek().t === "str" || peek().t === "id") next();
          expect("{", '"=" after an attribute name, or "{" to open a block');
          body("}");
          next();
        }
        if (peek().t === "," && end === "}") next();
        if (peek().t !== "nl" && peek().t !== end && peek().t !== "eof") fail("expected a line break after the item");
      }
    };
    body("eof");
    return null;
  } catch (err) {
    if (err instanceof SyntaxProblem) return `Invalid HCL: ${err.message}`;
    throw err;
  }
}

// ---- Highlighting: [class, text] pieces that join back to the text ----

const RULES = {
  json: [
    ["key", /"(?:[^"\\\n]|\\.)*"(?=\s*:)/y],
    ["str", /"(?:[^"\\\n]|\\.)*"?/y],
    ["num", /-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/y],
    ["lit", /\b(?:true|false|null)\b/y],
    ["punct", /[{}[\],:]/y],
  ],
  hcl: [
    ["comment", /(?:#|\/\/)[^\n]*|\/\*[\s\S]*?(?:\*\/|$)/y],
    ["str", /<<-?([A-Za-z_]\w*)\n[\s\S]*?^[ \t]*\1[ \t]*$|"(?:[^"\\\n]|\\.)*"?/my],
    ["key", /[A-Za-z_][\w-]*(?=[ \t]*=(?!=))/y],
    ["block", /(?<=^[ \t]*)[A-Za-z_][\w-]*(?=(?:[ \t]+(?:"[^"\n]*"|[A-Za-z_][\w-]*))*[ \t]*\{)/my],
    ["lit", /\b(?:true|false|null)\b/y],
    ["num", /\b\d+(?:\.\d+)?\b/y],
    ["punct", /[{}[\]=,()]/y],
  ],
  yaml: [
    ["comment", /(?<=^|\s)#[^\n]*/my],
    ["punct", /(?<=^[ \t]*)(?:- )+|^(?:---|\.\.\.)(?=\s|$)/my],
    ["key", /(?<=^[ \t]*(?:- )*)(?:"[^"\n]*"|'[^'\n]*'|[^\s#'"\-{[][^:#\n]*?)(?=:(?:\s|$))/my],
    ["str", /"(?:[^"\\\n]|\\.)*"?|'(?:[^'\n]|'')*'?/y],
    ["lit", /\b(?:true|false|null|yes|no|on|off)\b|~/y],
    ["num", /-?\b\d+(?:\.\d+)?\b/y],
    ["anchor", /[&*][^\s,[\]{}]+/y],
  ],
};

/**
 * The text split into highlighted pieces: [class, text], class "" for plain
 * text. Joining the texts gives back `text` exactly.
 * @param {string} lang @param {string} text @returns {[string, string][]}
 */
export function highlight(lang, text) {
  const rules = RULES[lang];
  if (!rules) return [["", text]];
  /** @type {[string, string][]} */
  const out = [];
  let plain = "";
  let i = 0;
  while (i < text.length) {
    let hit = null;
    for (const [cls, re] of rules) {
      re.lastIndex = i;
      const m = re.exec(text);
      if (m && m[0].length > 0) {
        hit = [cls, m[0]];
        break;
      }
    }
    if (!hit) {
      // Plain words are taken whole, so "notrue" never lights up "true"; runs of blanks too, so no rule looks back over them again and again.
      const w = /[A-Za-z0-9_-]+|[ \t]+|[\s\S]/y;
      w.lastIndex = i;
      const m = w.exec(text);
      plain += m[0];
      i += m[0].length;
      continue;
    }
    if (plain) out.push(["", plain]), (plain = "");
    out.push(hit);
    i += hit[1].length;
  }
  if (plain) out.push(["", plain]);
  return out;
}
