/**
 * Go (RE2) regular expression syntax, translated to an equivalent JavaScript
 * RegExp. `matches` in go-bexpr compiles with Go's regexp package, so a
 * pattern is accepted or refused by RE2's rules (no lookaround, no
 * backreferences, `\s` is ASCII, `$` is end of text) rather than JavaScript's.
 * Refusals use Go's wording: `error parsing regexp: missing closing ): ...`.
 */
import {
  type ClassItem,
  esc,
  MAX_RUNE,
  perlClasses,
  posixClasses,
  rangeItem,
  unicodeCategories,
} from "./re2classes.ts";

export class RegexSyntaxError extends Error {
  override readonly name = "RegexSyntaxError";
}

function fail(code: string, fragment: string): never {
  throw new RegexSyntaxError(`error parsing regexp: ${code}: \`${fragment}\``);
}

class Translator {
  private readonly pattern: string;
  private readonly chars: string[];
  private i = 0;
  private out = "";
  private depth = 0;
  private readonly groupNames = new Set<string>();
  flags = "u";
  private dotAll = false;
  /** What the last item was, to judge a following repetition operator as RE2 does. */
  private last: "none" | "atom" | "repeat" | "lazy" = "none";
  private lastOp = "";

  constructor(pattern: string) {
    this.pattern = pattern;
    this.chars = [...pattern];
  }

  private peek(offset = 0): string | undefined {
    return this.chars[this.i + offset];
  }

  private rest(): string {
    return this.chars.slice(this.i).join("");
  }

  translate(): string {
    this.leadingFlags();
    while (this.i < this.chars.length) this.step();
    if (this.depth > 0) fail("missing closing )", this.pattern);
    return this.out;
  }

  /** `(?i)`, `(?s)`, `(?m)` and combinations, only where JS can express them: up front. */
  private leadingFlags(): void {
    for (;;) {
      const m = /^\(\?([imsU]+)\)/.exec(this.rest());
      if (!m) return;
      for (const f of m[1] ?? "") {
        if (f === "U") fail("unsupported flag (ungreedy mode)", m[0]);
        if (f === "s") this.dotAll = true;
        else if (!this.flags.includes(f)) this.flags += f;
      }
      this.i += m[0].length;
    }
  }

  private repeat(op: string): void {
    if (this.last === "none") fail("missing argument to repetition operator", op);
    if (this.last === "repeat" && op === "?") {
      this.last = "lazy";
    } else if (this.last === "repeat" || this.last === "lazy") {
      fail("invalid nested repetition operator", this.lastOp + op);
    } else {
      this.last = "repeat";
    }
    this.lastOp = op;
    this.out += op;
  }

  private step(): void {
    const c = this.peek() ?? "";
    const before = this.i;
    this.stepItem(c);
    if (this.i > before && c !== "{" && !"*+?()|".includes(c)) this.last = "atom";
  }

  private stepItem(c: string): void {
    switch (c) {
      case "*":
      case "+":
      case "?":
        this.i++;
        this.repeat(c);
        return;
      case "|":
        this.i++;
        this.last = "none";
        this.out += "|";
        return;
      case "\\":
        this.out += this.topLevelEscape();
        return;
      case "[":
        this.out += this.charClass();
        return;
      case "(":
        this.openGroup();
        return;
      case ")":
        if (this.depth === 0) fail("unexpected )", this.pattern);
        this.depth--;
        this.i++;
        this.last = "atom";
        this.out += ")";
        return;
      case ".":
        this.i++;
        this.out += this.dotAll ? `[${esc(0)}-${esc(MAX_RUNE)}]` : "[^\\n]";
        return;
      case "{":
        this.brace();
        return;
      case "}":
      case "]":
      case "/":
        this.i++;
        this.out += `\\${c}`;
        return;
      default:
        this.i++;
        this.out += c;
    }
  }

  private openGroup(): void {
    const rest = this.rest();
    if (!rest.startsWith("(?")) {
      this.i++;
      this.depth++;
      this.last = "none";
      this.out += "(";
      return;
    }
    this.last = "none";
    const named = /^\(\?P?<([^>]*)>/.exec(rest);
    if (named && !rest.startsWith("(?<=") && !rest.startsWith("(?<!")) {
      const name = named[1] ?? "";
      if (!/^[A-Za-z0-9_]+$/.test(name)) fail("invalid named capture", named[0]);
      if (this.groupNames.has(name)) fail("duplicate capture group name", name);
      this.groupNames.add(name);
      // The name does not affect whether a string matches, and Go allows
      // names JavaScript refuses (`(?P<1x>...)`), so the group goes unnamed.
      this.i += [...named[0]].length;
      this.depth++;
      this.out += "(";
      return;
    }
    if (rest.startsWith("(?:")) {
      this.i += 3;
      this.depth++;
      this.out += "(?:";
      return;
    }
    const flagGroup = /^\(\?-?[imsU]+(-[imsU]*)?[):]/.exec(rest);
    if (flagGroup) fail("unsupported inline flag group (only a leading (?i), (?m) or (?s) is supported)", flagGroup[0]);
    fail("invalid or unsupported Perl syntax", rest.slice(0, 3));
  }

  private brace(): void {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.rest());
    if (!m) {
      this.i++;
      this.last = "atom";
      this.out += "\\{";
      return;
    }
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? -1 : Number(m[3]);
    if (min > 1000 || max > 1000 || (max >= 0 && min > max)) fail("invalid repeat count", m[0]);
    this.i += m[0].length;
    this.repeat(m[0]);
  }

  private topLevelEscape(): string {
    const next = this.peek(1);
    switch (next) {
      case "A":
        this.i += 2;
        return "(?<![\\s\\S])";
      case "z":
        this.i += 2;
        return "(?![\\s\\S])";
      case "b":
      case "B":
        this.i += 2;
        return `\\${next}`;
      case "C":
        fail("invalid escape sequence", "\\C");
        break;
      case "Q": {
        this.i += 2;
        let literal = "";
        while (this.i < this.chars.length && !(this.peek() === "\\" && this.peek(1) === "E")) {
          literal += this.literal(this.peek() ?? "", false);
          this.i++;
        }
        if (this.i < this.chars.length) this.i += 2;
        return literal === "" ? "" : `(?:${literal})`;
      }
    }
    const item = this.classEscape();
    if (item) return item.alone;
    return this.literal(String.fromCodePoint(this.escape()), false);
  }

  /** `\d \s \w \D \S \W` (ASCII in RE2) and `\pX`, `\p{Name}`, `\P...`. */
  private classEscape(): ClassItem | undefined {
    const next = this.peek(1) ?? "";
    const perl = perlClasses[next.toLowerCase()];
    if (perl && next.length === 1) {
      this.i += 2;
      return rangeItem(perl, next !== next.toLowerCase());
    }
    if (next !== "p" && next !== "P") return undefined;
    const start = this.i;
    this.i += 2;
    let name: string;
    if (this.peek() === "{") {
      const close = this.chars.indexOf("}", this.i);
      if (close < 0) fail("invalid character class range", this.chars.slice(start).join(""));
      name = this.chars.slice(this.i + 1, close).join("");
      this.i = close + 1;
    } else {
      name = this.peek() ?? "";
      this.i++;
    }
    let negate = next === "P";
    if (name.startsWith("^")) {
      negate = !negate;
      name = name.slice(1);
    }
    const seqText = this.chars.slice(start, this.i).join("");
    if (name === "Any") return rangeItem([[0, MAX_RUNE]], negate);
    if (!/^[A-Za-z_]+$/.test(name)) fail("invalid character class range", seqText);
    const property = unicodeCategories.has(name) ? name : `Script=${name}`;
    const js = `\\${negate ? "P" : "p"}{${property}}`;
    try {
      new RegExp(js, "u");
    } catch {
      fail("invalid character class range", seqText);
    }
    return { inClass: js, alone: js };
  }

  /** A single-character escape after `\`; returns the code point. */
  private escape(): number {
    const start = this.i;
    this.i++;
    const c = this.peek();
    if (c === undefined) fail("trailing backslash at end of expression", "");
    this.i++;
    const bad = (): never => fail("invalid escape sequence", this.chars.slice(start, this.i).join(""));
    const simple: Readonly<Record<string, number>> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
    if (simple[c] !== undefined) return simple[c];
    if (c >= "0" && c <= "7") {
      const nextIsOctal = /^[0-7]$/.test(this.peek() ?? "");
      // A lone \1-\7 would be a backreference, which RE2 does not have.
      if (c !== "0" && !nextIsOctal) return bad();
      let value = Number(c);
      for (let n = 0; n < 2 && /^[0-7]$/.test(this.peek() ?? ""); n++) {
        value = value * 8 + Number(this.peek());
        this.i++;
      }
      return value;
    }
    if (c === "x") {
      if (this.peek() === "{") {
        const close = this.chars.indexOf("}", this.i);
        const digits = close < 0 ? "" : this.chars.slice(this.i + 1, close).join("");
        if (close < 0 || !/^[0-9a-fA-F]+$/.test(digits)) {
          this.i = close < 0 ? this.chars.length : close + 1;
          return bad();
        }
        this.i = close + 1;
        const value = Number.parseInt(digits, 16);
        return value > MAX_RUNE ? bad() : value;
      }
      const digits = (this.peek() ?? "") + (this.peek(1) ?? "");
      this.i += Math.min(2, this.chars.length - this.i);
      return /^[0-9a-fA-F]{2}$/.test(digits) ? Number.parseInt(digits, 16) : bad();
    }
    const cp = c.codePointAt(0) ?? 0;
    // Escaped ASCII punctuation stands for itself; escaped letters must be known.
    if (cp < 0x80 && !/[A-Za-z0-9]/.test(c)) return cp;
    return bad();
  }

  private literal(ch: string, inClass: boolean): string {
    const cp = ch.codePointAt(0) ?? 0;
    if ("^$\\.*+?()[]{}|/".includes(ch)) return `\\${ch}`;
    if (inClass && ch === "-") return "\\-";
    if (cp < 0x20 || cp === 0x7f) return esc(cp);
    return ch;
  }

  private charClass(): string {
    const start = this.i;
    this.i++;
    let negate = false;
    if (this.peek() === "^") {
      negate = true;
      this.i++;
    }
    let body = "";
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) fail("missing closing ]", this.chars.slice(start).join(""));
      if (c === "]" && !first) break;
      first = false;
      const posix = /^\[:(\^?)([a-z]+):\]/.exec(this.rest());
      if (posix) {
        const ranges = posixClasses[posix[2] ?? ""];
        if (!ranges) fail("invalid character class range", posix[0]);
        body += rangeItem(ranges, posix[1] === "^").inClass;
        this.i += posix[0].length;
        continue;
      }
      if (c === "\\") {
        const item = this.classEscape();
        if (item) {
          body += item.inClass;
          continue;
        }
      }
      const rangeStart = this.i;
      const lo = this.classChar(start);
      let hi = lo;
      if (this.peek() === "-" && this.peek(1) !== undefined && this.peek(1) !== "]") {
        this.i++;
        hi = this.classChar(start);
        if (hi < lo) fail("invalid character class range", this.chars.slice(rangeStart, this.i).join(""));
      }
      body += lo === hi ? esc(lo) : `${esc(lo)}-${esc(hi)}`;
    }
    this.i++;
    return `[${negate ? "^" : ""}${body}]`;
  }

  private classChar(classStart: number): number {
    const c = this.peek();
    if (c === undefined) fail("missing closing ]", this.chars.slice(classStart).join(""));
    if (c === "\\") return this.escape();
    this.i++;
    return c.codePointAt(0) ?? 0;
  }
}

/** Compiles a Go regular expression; throws RegexSyntaxError with Go-style wording. */
export function compileRe2(pattern: string): RegExp {
  const t = new Translator(pattern);
  const source = t.translate();
  try {
    return new RegExp(source, t.flags);
  } catch (cause) {
    const detail = cause instanceof Error ? cause.message : String(cause);
    throw new RegexSyntaxError(`error parsing regexp: ${detail}`, { cause });
  }
}
