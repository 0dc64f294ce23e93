/**
 * JSON helpers that keep 64-bit integers exact.
 *
 * Consul's wire integers are Go uint64s. Indexes stay far below 2^53, but KV
 * `Flags` often do not: the lock and semaphore markers (0x2ddccbc058a50c18,
 * 0xe0f69a2baa414de0) are above it, and `JSON.parse` would silently round them.
 */
import { parseJsonPreservingBigInts } from "../structs/json.ts";

/**
 * Parses JSON text; integers outside the safe range come back as decimal
 * strings so the caller can turn them into `bigint` without loss (one linear
 * pass, shared with the HTTP server's body decoding).
 */
export function parseJson(text: string): unknown {
  return parseJsonPreservingBigInts(text, Number.MAX_SAFE_INTEGER);
}

export interface EncodeOptions {
  /** Indentation per level, as in `JSON.stringify`'s third argument. */
  readonly indent?: string;
  /** Escape `<`, `>` and `&` as Go's encoding/json does by default. */
  readonly escapeHtml?: boolean;
}

/**
 * Serialises like `JSON.stringify`, but writes `bigint` values as bare
 * integers and can reproduce Go's HTML-safe string escaping.
 */
export function encodeJson(value: unknown, options: EncodeOptions = {}): string {
  return encodeValue(value, options, "") ?? "null";
}

function encodeValue(value: unknown, options: EncodeOptions, currentIndent: string): string | undefined {
  if (value === null) return "null";
  switch (typeof value) {
    case "bigint":
      return value.toString();
    case "number":
      return Number.isFinite(value) ? String(value) : "null";
    case "boolean":
      return value ? "true" : "false";
    case "string":
      return encodeString(value, options.escapeHtml === true);
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
  }
  const indent = options.indent ?? "";
  const inner = currentIndent + indent;
  const open = indent === "" ? "" : `\n${inner}`;
  const close = indent === "" ? "" : `\n${currentIndent}`;
  const sep = indent === "" ? "," : `,\n${inner}`;
  const colon = indent === "" ? ":" : ": ";
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    const items = value.map((v: unknown) => encodeValue(v, options, inner) ?? "null");
    return `[${open}${items.join(sep)}${close}]`;
  }
  const entries: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const encoded = encodeValue(v, options, inner);
    if (encoded !== undefined) entries.push(`${encodeString(k, options.escapeHtml === true)}${colon}${encoded}`);
  }
  if (entries.length === 0) return "{}";
  return `{${open}${entries.join(sep)}${close}}`;
}

function encodeString(s: string, escapeHtml: boolean): string {
  const json = JSON.stringify(s);
  if (!escapeHtml) return json;
  return json
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** Reads a uint64 that `parseJson` produced (number or decimal string). */
export function toBigInt(value: unknown, field: string): bigint {
  if (value === undefined || value === null) return 0n;
  if (typeof value === "bigint") return value;
  if (typeof value === "number" && Number.isInteger(value)) return BigInt(value);
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  throw new TypeError(`Field "${field}" is not an integer: ${String(value)}`);
}

/** Reads an index-like integer (always below 2^53 in practice). */
export function toNumber(value: unknown, field: string): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return value;
  if (typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value)) return Number(value);
  throw new TypeError(`Field "${field}" is not a number: ${String(value)}`);
}
