/**
 * JSON helpers for Consul's wire format: case-insensitive field lookup on
 * decode (python-consul sends `ttl`, `lockdelay`), uint64 values that exceed
 * 2^53 (KV flags), and base64 byte values.
 */

/** Looks a field up case-insensitively, also trying snake_case aliases. */
export function field(obj: Record<string, unknown>, name: string, ...aliases: string[]): unknown {
  if (name in obj) return obj[name];
  // Most fields a decoder asks for are absent, so this scan is the common case.
  const wanted = folded(name);
  for (const key of Object.keys(obj)) {
    const k = folded(key);
    if (k === wanted || (aliases.length > 0 && aliases.some((a) => folded(a) === k))) return obj[key];
  }
  return undefined;
}

/** Field names folded for matching; bodies use few distinct names, so they are remembered (a bounded number). */
const foldedNames = new Map<string, string>();

function folded(name: string): string {
  let f = foldedNames.get(name);
  if (f === undefined) {
    f = name.toLowerCase().replaceAll("_", "");
    if (foldedNames.size >= 4096) foldedNames.clear();
    foldedNames.set(name, f);
  }
  return f;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The deepest nesting of arrays and objects a JSON body may have (Consul's own bodies stay under 20). */
export const MAX_JSON_DEPTH = 128;

/** A JSON body nested deeper than the limit: refused before it is parsed, so no recursive walk can overflow the stack. */
export class JsonDepthError extends RangeError {
  override readonly name = "JsonDepthError";
  readonly limit: number;
  constructor(limit: number) {
    super(`JSON nested deeper than ${limit} levels`);
    this.limit = limit;
  }
}

/**
 * Parses JSON, keeping integers too large for a double exact by turning them
 * into strings (the decoders accept uint64 fields as numbers or strings).
 * One linear pass finds them and checks the nesting depth; integers longer
 * than any 64-bit one are left to JSON.parse (the decoders refuse them).
 */
export function parseJsonPreservingBigInts(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  return JSON.parse(quoteUnsafeIntegers(text, maxDepth));
}

const OPEN_BRACKET = 0x5b;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACKET = 0x5d;
const CLOSE_BRACE = 0x7d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MINUS = 0x2d;

function isNumberChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === MINUS;
}

function quoteUnsafeIntegers(text: string, maxDepth: number): string {
  let out: string[] | null = null;
  let copiedUpTo = 0;
  let depth = 0;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i += 2;
        else if (d === QUOTE) break;
        else i++;
      }
      i++;
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > maxDepth) throw new JsonDepthError(maxDepth);
      i++;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
      i++;
    } else if (c === MINUS || (c >= 0x30 && c <= 0x39)) {
      const start = i;
      let integer = true;
      i++;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (!isNumberChar(d)) break;
        if (d < 0x30 || d > 0x39) integer = false;
        i++;
      }
      const digits = i - start - (c === MINUS ? 1 : 0);
      // 16 digits may pass 2^53; more than 20 is past any uint64 or int64.
      if (integer && digits >= 16 && digits <= 20) {
        const token = text.slice(start, i);
        if (!Number.isSafeInteger(Number(token))) {
          out ??= [];
          out.push(text.slice(copiedUpTo, start), '"', token, '"');
          copiedUpTo = i;
        }
      }
    } else i++;
  }
  if (out === null) return text;
  out.push(text.slice(copiedUpTo));
  return out.join("");
}

const BIG_MARK = "\u0000u64:";

/** JSON.stringify that writes bigint values as bare integers. */
export function toJson(value: unknown, pretty = false): string {
  // Most answers hold no bigint: the native path (several times faster than a replacer) throws a TypeError for one.
  try {
    return JSON.stringify(value, null, pretty ? 4 : undefined) ?? "null";
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
  }
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? BIG_MARK + v.toString() : v), pretty ? 4 : undefined);
  if (text === undefined) return "null";
  return text.includes("\\u0000u64:") ? text.replace(/"\\u0000u64:(\d+)"/g, "$1") : text;
}

/** Reads a uint64 given as a JSON number, a decimal string or a bigint. */
export function toUint64(value: unknown): bigint | null {
  if (typeof value === "bigint") return value >= 0n && value < 1n << 64n ? value : null;
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? BigInt(value) : null;
  if (typeof value === "string" && /^\d+$/.test(value)) {
    const b = BigInt(value);
    return b < 1n << 64n ? b : null;
  }
  return null;
}

export function encodeBase64(bytes: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Decodes base64; null when the text is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  try {
    const bin = atob(text);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
