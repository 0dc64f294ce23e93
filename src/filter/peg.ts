/**
 * A small packrat PEG engine that reports failures the way the pigeon parser
 * generator does, so filter syntax errors read like go-bexpr's:
 * `1:13 (12): no match found, expected: "(", "-", ...` and
 * `1:10 (9): rule "grouping": Unmatched parentheses`.
 */
import { goQuote } from "./gostrconv.ts";

export const FAIL: unique symbol = Symbol("peg.fail");
export type Parser<T> = (s: PegState) => T | typeof FAIL;

interface RecordedError {
  readonly pos: number;
  readonly rule: string | undefined;
  readonly message: string;
}

interface MemoEntry {
  readonly end: number;
  readonly value: unknown;
}

export interface PegState {
  readonly input: string;
  pos: number;
  /** Inside a `!` predicate, successes are what gets reported as expected. */
  invert: boolean;
  maxFailPos: number;
  maxFailExpected: string[];
  readonly errors: RecordedError[];
  readonly rules: string[];
  readonly memo: Map<string, MemoEntry>;
}

function failAt(s: PegState, matched: boolean, pos: number, want: string): void {
  if (matched !== s.invert) return;
  if (pos < s.maxFailPos) return;
  if (pos > s.maxFailPos) {
    s.maxFailPos = pos;
    s.maxFailExpected = [];
  }
  s.maxFailExpected.push(s.invert ? `!${want}` : want);
}

function recordError(s: PegState, pos: number, message: string): void {
  s.errors.push({ pos, rule: s.rules[s.rules.length - 1], message });
}

/** A literal string; expected as its Go-quoted form, e.g. `"=="`. */
export function lit(text: string): Parser<string> {
  const want = goQuote(text);
  return (s) => {
    const start = s.pos;
    const ok = s.input.startsWith(text, start);
    failAt(s, ok, start, want);
    if (!ok) return FAIL;
    s.pos += text.length;
    return text;
  };
}

function codePointAt(s: PegState): { cp: number; width: number } | undefined {
  const cp = s.input.codePointAt(s.pos);
  if (cp === undefined) return undefined;
  return { cp, width: cp > 0xffff ? 2 : 1 };
}

/** A character class; `source` is how the grammar spells it, e.g. `[a-zA-Z]`. */
export function cls(source: string, test: RegExp): Parser<string> {
  return (s) => {
    const start = s.pos;
    const c = codePointAt(s);
    const ok = c !== undefined && test.test(String.fromCodePoint(c.cp));
    failAt(s, ok, start, source);
    if (!ok || c === undefined) return FAIL;
    s.pos += c.width;
    return String.fromCodePoint(c.cp);
  };
}

/** Any single character (`.` in the grammar). */
export const any: Parser<string> = (s) => {
  const start = s.pos;
  const c = codePointAt(s);
  failAt(s, c !== undefined, start, ".");
  if (c === undefined) return FAIL;
  s.pos += c.width;
  return String.fromCodePoint(c.cp);
};

type Values<P extends readonly Parser<unknown>[]> = {
  [K in keyof P]: P[K] extends Parser<infer T> ? T : never;
};

export function seq<P extends readonly Parser<unknown>[]>(...parts: P): Parser<Values<P>> {
  return (s) => {
    const start = s.pos;
    const out: unknown[] = [];
    for (const part of parts) {
      const v = part(s);
      if (v === FAIL) {
        s.pos = start;
        return FAIL;
      }
      out.push(v);
    }
    return out as Values<P>;
  };
}

export function choice<T>(...alternatives: Parser<T>[]): Parser<T> {
  return (s) => {
    for (const alt of alternatives) {
      const start = s.pos;
      const v = alt(s);
      if (v !== FAIL) return v;
      s.pos = start;
    }
    return FAIL;
  };
}

export function star<T>(p: Parser<T>): Parser<T[]> {
  return (s) => {
    const out: T[] = [];
    for (;;) {
      const start = s.pos;
      const v = p(s);
      if (v === FAIL || s.pos === start) {
        s.pos = start;
        return out;
      }
      out.push(v);
    }
  };
}

export function plus<T>(p: Parser<T>): Parser<T[]> {
  const rest = star(p);
  return (s) => {
    const first = p(s);
    if (first === FAIL) return FAIL;
    const more = rest(s);
    return more === FAIL ? [first] : [first, ...more];
  };
}

export function opt<T>(p: Parser<T>): Parser<T | undefined> {
  return (s) => {
    const start = s.pos;
    const v = p(s);
    if (v !== FAIL) return v;
    s.pos = start;
    return undefined;
  };
}

/** Negative lookahead: succeeds, consuming nothing, where `p` fails. */
export function not(p: Parser<unknown>): Parser<null> {
  return (s) => {
    const start = s.pos;
    s.invert = !s.invert;
    const v = p(s);
    s.invert = !s.invert;
    s.pos = start;
    return v === FAIL ? null : FAIL;
  };
}

/** Positive lookahead: succeeds, consuming nothing, where `p` succeeds. */
export function and(p: Parser<unknown>): Parser<null> {
  return (s) => {
    const start = s.pos;
    const v = p(s);
    s.pos = start;
    return v === FAIL ? FAIL : null;
  };
}

/** Always fails, recording `message` against the enclosing rule at the current position. */
export function failWith(message: string): Parser<never> {
  return (s) => {
    recordError(s, s.pos, message);
    return FAIL;
  };
}

/** The input text `p` matched. */
export function text(p: Parser<unknown>): Parser<string> {
  return (s) => {
    const start = s.pos;
    return p(s) === FAIL ? FAIL : s.input.slice(start, s.pos);
  };
}

export function map<T, U>(p: Parser<T>, f: (value: T) => U): Parser<U> {
  return (s) => {
    const v = p(s);
    return v === FAIL ? FAIL : f(v);
  };
}

/**
 * Like `map`, but the conversion may report an error. As in pigeon, the match
 * still succeeds (with `fallback`) so parsing goes on; the error fails the parse.
 */
export function mapChecked<T, U>(
  p: Parser<T>,
  f: (value: T) => { value: U } | { error: string; fallback: U },
): Parser<U> {
  return (s) => {
    const start = s.pos;
    const v = p(s);
    if (v === FAIL) return FAIL;
    const r = f(v);
    if ("error" in r) {
      recordError(s, start, r.error);
      return r.fallback;
    }
    return r.value;
  };
}

let nextRuleId = 0;

/**
 * A named rule. `label` is what error messages print after `rule `: pigeon
 * quotes display names (`"grouping"`) and prints bare names otherwise.
 * Results are memoized per position, which keeps the grammar's repeated
 * alternatives (`A "or" B / A`) linear.
 */
export function rule<T>(label: string, body: () => Parser<T>): Parser<T> {
  const id = nextRuleId++;
  let parser: Parser<T> | undefined;
  return (s) => {
    const key = `${id}:${s.pos}:${s.invert ? 1 : 0}`;
    const hit = s.memo.get(key);
    if (hit !== undefined) {
      if (hit.value === FAIL) return FAIL;
      s.pos = hit.end;
      return hit.value as T;
    }
    parser ??= body();
    s.rules.push(label);
    const start = s.pos;
    const v = parser(s);
    s.rules.pop();
    if (v === FAIL) s.pos = start;
    s.memo.set(key, { end: s.pos, value: v });
    return v;
  };
}

/** Where `index` (a UTF-16 index) sits, as pigeon prints it: `line:col (byteOffset)`. */
function describePosition(input: string, index: number): string {
  const before = input.slice(0, index);
  let line = 1;
  let lastNewline = -1;
  for (let i = 0; i < before.length; i++) {
    if (before.charCodeAt(i) === 10) {
      line++;
      lastNewline = i;
    }
  }
  let col = [...before.slice(lastNewline + 1)].length + 1;
  if (input.charCodeAt(index) === 10) {
    line++;
    col = 0;
  }
  const offset = new TextEncoder().encode(before).length;
  return `${line}:${col} (${offset})`;
}

function joinExpected(list: readonly string[]): string {
  if (list.length <= 1) return list.join("");
  return `${list.slice(0, -1).join(", ")} or ${list[list.length - 1]}`;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; message: string };

export function parse<T>(start: Parser<T>, input: string): ParseResult<T> {
  const s: PegState = {
    input,
    pos: 0,
    invert: false,
    maxFailPos: 0,
    maxFailExpected: [],
    errors: [],
    rules: [],
    memo: new Map(),
  };
  const value = start(s);
  if (value === FAIL && s.errors.length === 0) {
    const wants = new Set(s.maxFailExpected);
    const eof = wants.delete("!.");
    const expected = [...wants].sort();
    if (eof) expected.push("EOF");
    s.errors.push({
      pos: s.maxFailPos,
      rule: undefined,
      message: `no match found, expected: ${joinExpected(expected)}`,
    });
  }
  if (s.errors.length > 0) {
    const messages = s.errors.map((e) => {
      const where = describePosition(input, e.pos);
      return e.rule === undefined ? `${where}: ${e.message}` : `${where}: rule ${e.rule}: ${e.message}`;
    });
    return { ok: false, message: [...new Set(messages)].join("\n") };
  }
  return { ok: true, value: value as T };
}
