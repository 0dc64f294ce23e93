/**
 * JSON helpers for Consul's wire format: case-insensitive field lookup on
 * decode (python-consul sends `ttl`, `lockdelay`), uint64 values that exceed
 * 2^53 (KV flags), and base64 byte values.
 */

/** Looks a field up case-insensitively, also trying snake_case aliases. */
export function field(obj: Record<string, unknown>, name: string, ...aliases: string[]): unknown {
  if (name in obj) return obj[name];
  const wanted = [name, ...aliases].map((n) => n.toLowerCase().replaceAll("_", ""));
  for (const key of Object.keys(obj)) {
    if (wanted.includes(key.toLowerCase().replaceAll("_", ""))) return obj[key];
  }
  return undefined;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * Parses JSON, keeping integers too large for a double exact by turning them
 * into strings (the decoders accept uint64 fields as numbers or strings).
 */
export function parseJsonPreservingBigInts(text: string): unknown {
  const guarded = text.replace(/("(?:[^"\\]|\\.)*")|(-?\d{16,})(?=\s*[,}\]])/g, (m, str: string | undefined, big: string | undefined) => {
    if (str !== undefined) return str;
    return big !== undefined && !Number.isSafeInteger(Number(big)) ? `"${big}"` : m;
  });
  return JSON.parse(guarded);
}

const BIG_MARK = "\u0000u64:";

/** JSON.stringify that writes bigint values as bare integers. */
export function toJson(value: unknown, pretty = false): string {
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
