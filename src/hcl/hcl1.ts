/**
 * Consul's HCL is HCL 1, which lets a nested block stand inside an object
 * value (`Routes = [{ Match { HTTP { PathPrefix = "/admin" } } }]`, as every
 * service-router example in Consul's docs writes it). HCL 2, which our parser
 * reads, wants `Match = { ... }` there. This rewrites exactly that form,
 * inserting the `=`, and leaves everything else as it is: strings, comments
 * and heredocs are skipped, and blocks in a body (`service { ... }`) stay blocks.
 * Valid HCL 2 never has the rewritten form, so it comes through unchanged.
 */

const isIdentStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isIdentChar = (c: string): boolean => /[A-Za-z0-9_-]/.test(c);

/** Index after a quoted string starting at `i` (the opening quote); template `${...}` nesting included. */
function skipString(text: string, i: number): number {
  let j = i + 1;
  let depth = 0;
  while (j < text.length) {
    const c = text[j]!;
    if (c === "\\") j += 2;
    else if (c === "$" && text[j + 1] === "{") {
      depth++;
      j += 2;
    } else if (c === "}" && depth > 0) {
      depth--;
      j++;
    } else if (c === '"' && depth === 0) return j + 1;
    else if (c === "\n" && depth === 0) return j;
    else j++;
  }
  return j;
}

/** Index after a heredoc whose `<<` starts at `i`, or -1 when it is not one. */
function skipHeredoc(text: string, i: number): number {
  const m = /^<<-?([A-Za-z_][A-Za-z0-9_]*)[ \t]*\r?\n/.exec(text.slice(i, i + 80));
  if (!m) return -1;
  const end = new RegExp(`^[ \\t]*${m[1]}[ \\t]*$`, "m");
  const rest = text.slice(i + m[0].length);
  const found = end.exec(rest);
  return found ? i + m[0].length + found.index + found[0].length : text.length;
}

/** Index after a comment starting at `i`, or -1 when none starts there. */
function skipComment(text: string, i: number): number {
  const c = text[i];
  if (c === "#" || (c === "/" && text[i + 1] === "/")) {
    const nl = text.indexOf("\n", i);
    return nl < 0 ? text.length : nl;
  }
  if (c === "/" && text[i + 1] === "*") {
    const end = text.indexOf("*/", i + 2);
    return end < 0 ? text.length : end + 2;
  }
  return -1;
}

export function hcl1NestedBlocks(text: string): string {
  // What each open bracket holds: a body of attributes and blocks, or an expression.
  const stack: ("body" | "expr")[] = ["body"];
  let out = "";
  let last = ""; // the last significant character written
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    const comment = skipComment(text, i);
    if (comment >= 0) {
      out += text.slice(i, comment);
      i = comment;
      continue;
    }
    if (c === '"') {
      const end = skipString(text, i);
      out += text.slice(i, end);
      i = end;
      last = '"';
      continue;
    }
    if (c === "<" && text[i + 1] === "<") {
      const end = skipHeredoc(text, i);
      if (end >= 0) {
        out += text.slice(i, end);
        i = end;
        last = '"';
        continue;
      }
    }
    if (isIdentStart(c) && stack[stack.length - 1] === "expr" && !isIdentChar(last)) {
      let j = i + 1;
      while (j < text.length && isIdentChar(text[j]!)) j++;
      let k = j;
      while (k < text.length && /[ \t]/.test(text[k]!)) k++;
      out += text.slice(i, j);
      // `Name {` inside a value: HCL 1's nested block, HCL 2's `Name = {`.
      if (text[k] === "{" && last !== "=" && last !== ":") out += " =";
      last = "a";
      i = j;
      continue;
    }
    if (c === "{" || c === "[" || c === "(") {
      const opensValue = c !== "{" || last === "=" || last === ":" || last === "[" || last === "," || last === "(" || stack[stack.length - 1] === "expr";
      stack.push(opensValue ? "expr" : "body");
    } else if ((c === "}" || c === "]" || c === ")") && stack.length > 1) {
      stack.pop();
    }
    out += c;
    if (!/\s/.test(c)) last = c;
    i++;
  }
  return out;
}
