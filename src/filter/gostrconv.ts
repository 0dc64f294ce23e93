/**
 * The few pieces of Go's strconv that go-bexpr's behaviour and messages rest
 * on: Quote (for `%q` in messages), Unquote (string literals), ParseInt with
 * base 0 and ParseBool (value coercion). Errors carry Go's exact wording.
 */

const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u;
const shortEscapes: Readonly<Record<string, string>> = {
  "\x07": "\\a",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\v": "\\v",
};

function hex(n: number, width: number): string {
  return n.toString(16).padStart(width, "0");
}

/** Go's strconv.Quote: a double-quoted literal with Go escapes. */
export function goQuote(text: string): string {
  let out = '"';
  for (const ch of text) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (printable.test(ch)) out += ch;
    else if (shortEscapes[ch] !== undefined) out += shortEscapes[ch];
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${hex(cp, 2)}`;
    else if (cp < 0x10000) out += `\\u${hex(cp, 4)}`;
    else out += `\\U${hex(cp, 8)}`;
  }
  return `${out}"`;
}

const simpleEscapeBytes: Readonly<Record<string, number>> = {
  a: 0x07,
  b: 0x08,
  f: 0x0c,
  n: 0x0a,
  r: 0x0d,
  t: 0x09,
  v: 0x0b,
  "\\": 0x5c,
  '"': 0x22,
};

const utf8 = new TextEncoder();

function isValidRune(cp: number): boolean {
  return cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
}

/**
 * Go's strconv.Unquote for a `"..."` or `` `...` `` literal. Returns undefined
 * where Go answers ErrSyntax. `\x` and octal escapes are raw bytes, so the
 * result is assembled as UTF-8 and decoded at the end, as Go strings would be.
 */
export function goUnquote(quoted: string): string | undefined {
  const quote = quoted[0];
  if (quoted.length < 2 || quoted[quoted.length - 1] !== quote) return undefined;
  const body = quoted.slice(1, -1);
  if (quote === "`") {
    if (body.includes("`")) return undefined;
    // Go discards carriage returns inside raw strings.
    return body.replaceAll("\r", "");
  }
  if (quote !== '"') return undefined;
  const bytes: number[] = [];
  let i = 0;
  while (i < body.length) {
    const cp = body.codePointAt(i) ?? 0;
    const ch = String.fromCodePoint(cp);
    if (ch === '"' || ch === "\n") return undefined;
    if (ch !== "\\") {
      bytes.push(...utf8.encode(ch));
      i += ch.length;
      continue;
    }
    const kind = body[i + 1];
    if (kind === undefined) return undefined;
    i += 2;
    const simple = simpleEscapeBytes[kind];
    if (simple !== undefined) {
      bytes.push(simple);
      continue;
    }
    if (kind === "x" || kind === "u" || kind === "U") {
      const width = kind === "x" ? 2 : kind === "u" ? 4 : 8;
      const digits = body.slice(i, i + width);
      if (digits.length < width || !/^[0-9a-fA-F]+$/.test(digits)) return undefined;
      i += width;
      const value = Number.parseInt(digits, 16);
      if (kind === "x") {
        bytes.push(value);
        continue;
      }
      if (!isValidRune(value)) return undefined;
      bytes.push(...utf8.encode(String.fromCodePoint(value)));
      continue;
    }
    if (kind >= "0" && kind <= "7") {
      const digits = kind + body.slice(i, i + 2);
      if (!/^[0-7]{3}$/.test(digits)) return undefined;
      i += 2;
      const value = Number.parseInt(digits, 8);
      if (value > 255) return undefined;
      bytes.push(value);
      continue;
    }
    return undefined;
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

function numError(fn: string, num: string, reason: "invalid syntax" | "value out of range"): string {
  return `strconv.${fn}: parsing ${goQuote(num)}: ${reason}`;
}

/** Underscores may only sit between digits, or between a base prefix and a digit. */
function underscoresOk(text: string): boolean {
  let s = text;
  if (s.startsWith("-") || s.startsWith("+")) s = s.slice(1);
  let saw: "^" | "0" | "_" | "!" = "^";
  let i = 0;
  let hexDigits = false;
  const prefix = (s[1] ?? "").toLowerCase();
  if (s.length >= 2 && s[0] === "0" && (prefix === "b" || prefix === "o" || prefix === "x")) {
    i = 2;
    saw = "0";
    hexDigits = prefix === "x";
  }
  for (; i < s.length; i++) {
    const c = s[i] ?? "";
    if ((c >= "0" && c <= "9") || (hexDigits && /[a-fA-F]/.test(c))) {
      saw = "0";
      continue;
    }
    if (c === "_") {
      if (saw !== "0") return false;
      saw = "_";
      continue;
    }
    if (saw === "_") return false;
    saw = "!";
  }
  return saw !== "_";
}

const maxUint64 = (1n << 64n) - 1n;
const int64Cutoff = 1n << 63n;

/**
 * Go's strconv.ParseInt(text, 0, 64): optional sign, then a 0x/0o/0b prefix,
 * a leading 0 for octal, or decimal, with `_` separators allowed.
 */
export function goParseInt(text: string): { value: bigint } | { error: string } {
  const syntax = { error: numError("ParseInt", text, "invalid syntax") };
  const range = { error: numError("ParseInt", text, "value out of range") };
  let s = text;
  let negative = false;
  if (s.startsWith("+")) s = s.slice(1);
  else if (s.startsWith("-")) {
    negative = true;
    s = s.slice(1);
  }
  if (s === "") return syntax;
  const unsignedText = s;
  let base = 10n;
  if (s[0] === "0") {
    const p = (s[1] ?? "").toLowerCase();
    if (s.length >= 3 && p === "b") [base, s] = [2n, s.slice(2)];
    else if (s.length >= 3 && p === "o") [base, s] = [8n, s.slice(2)];
    else if (s.length >= 3 && p === "x") [base, s] = [16n, s.slice(2)];
    else [base, s] = [8n, s.slice(1)];
  }
  let n = 0n;
  let underscores = false;
  for (const c of s) {
    if (c === "_") {
      underscores = true;
      continue;
    }
    let d: bigint;
    if (c >= "0" && c <= "9") d = BigInt(c.charCodeAt(0) - 48);
    else if (/^[a-zA-Z]$/.test(c)) d = BigInt(c.toLowerCase().charCodeAt(0) - 87);
    else return syntax;
    if (d >= base) return syntax;
    n = n * base + d;
    if (n > maxUint64) return range;
  }
  if (underscores && !underscoresOk(unsignedText)) return syntax;
  if (!negative && n >= int64Cutoff) return range;
  if (negative && n > int64Cutoff) return range;
  return { value: negative ? -n : n };
}

/** Go's strconv.ParseBool. */
export function goParseBool(text: string): { value: boolean } | { error: string } {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return { value: true };
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return { value: false };
  return { error: numError("ParseBool", text, "invalid syntax") };
}
