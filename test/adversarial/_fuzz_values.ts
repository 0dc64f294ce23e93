/**
 * Random JSON bodies for the endpoint fuzzer: values of random nesting, size
 * and kind (huge digit runs, floats, negative zero, long and odd strings),
 * valid templates with random fields swapped, and broken text. Seeded, so a
 * failing round can be replayed.
 */
import { seeded } from "../dns/_fixture.ts";

export { seeded };
export type Rand = () => number;

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

const NUMBERS = ["0", "-0", "1", "-1", "3.5", "1e308", "-1e400", "9007199254740993", "18446744073709551615", "18446744073709551616", "-9223372036854775809", "0.0000001", "123456789012345678901234567890"];
const STRINGS = ["", " ", "a", "../../etc", "\u0000", "\uD800", "é", "🙂", "%FF", "web", "connect-proxy", "allow", "deny", "10s", "-5s", "24h", "1.2.3.4", "::1", "*", "a/b/c"];

/** A random JSON value as text (so it can hold what JSON.stringify cannot: huge digit runs, deep nesting). */
export function randomValue(r: Rand, depth = 0): string {
  const roll = r();
  // Past a few levels mostly scalars, and only scalars past six, so a value stays finite (deep nesting has its own case).
  if (depth >= 6 || (depth > 2 && roll < 0.7)) return scalar(r);
  if (roll < 0.02) return deepNest(r);
  if (roll < 0.35) return scalar(r);
  if (roll < 0.65) {
    const n = Math.floor(r() * 6);
    return `[${Array.from({ length: n }, () => randomValue(r, depth + 1)).join(",")}]`;
  }
  const n = Math.floor(r() * 6);
  return `{${Array.from({ length: n }, () => `${JSON.stringify(pick(r, [...STRINGS, "Name", "ID", "Node", "Service", "Config"]))}:${randomValue(r, depth + 1)}`).join(",")}}`;
}

function scalar(r: Rand): string {
  const roll = r();
  if (roll < 0.3) return pick(r, NUMBERS);
  if (roll < 0.35) return "1".repeat(1 + Math.floor(r() * 50_000));
  if (roll < 0.7) return JSON.stringify(pick(r, STRINGS));
  if (roll < 0.75) return JSON.stringify("x".repeat(Math.floor(r() * 300_000)));
  if (roll < 0.85) return pick(r, ["true", "false", "null"]);
  return JSON.stringify(String.fromCharCode(...Array.from({ length: 1 + Math.floor(r() * 40) }, () => Math.floor(r() * 0xd7ff))));
}

function deepNest(r: Rand): string {
  const depth = pick(r, [50, 127, 129, 1000, 20_000]);
  const [open, close] = r() < 0.5 ? ["[", "]"] : ['{"a":', "}"];
  return open.repeat(depth) + "1" + close.repeat(depth);
}

/** A template with some of its fields replaced by random values (or dropped), as text. */
export function mutate(r: Rand, template: Record<string, unknown>): string {
  const fields = Object.entries(template).map(([k, v]) => {
    if (r() < 0.35) return `${JSON.stringify(k)}:${randomValue(r)}`;
    if (r() < 0.1) return null;
    return `${JSON.stringify(k)}:${JSON.stringify(v)}`;
  });
  if (r() < 0.3) fields.push(`${JSON.stringify(pick(r, STRINGS))}:${randomValue(r)}`);
  return `{${fields.filter((f) => f !== null).join(",")}}`;
}

/** Broken text: a valid body cut short, with bytes flipped, or wrapped wrongly. */
export function breakText(r: Rand, text: string): string {
  const roll = r();
  if (roll < 0.3) return text.slice(0, Math.floor(r() * text.length));
  if (roll < 0.6) {
    const at = Math.floor(r() * text.length);
    return text.slice(0, at) + pick(r, ["\"", "}", "]", ",", ":", "\\", "\u0000", "\uFFFF"]) + text.slice(at + 1);
  }
  if (roll < 0.8) return `[${text}`;
  return pick(r, ["", "null", "[]", "{}", "\"\"", "0", "[[]]", "{\"\":{}}"]);
}
