/** Name and address helpers: IP parsing, reverse (arpa) names, `<hex>.addr` names, TXT meta. */
import { isIP } from "node:net";

const CACHE_MAX = 8192;
const ipCache = new Map<string, Uint8Array | null>();
const labelCache = new Map<string, string[]>();

/**
 * Parses an IP literal into 4 or 16 bytes (IPv4-mapped IPv6 becomes 4, as Go's
 * To4 does); null otherwise. Results are shared: callers must not mutate them.
 */
export function parseIp(text: string): Uint8Array | null {
  const hit = ipCache.get(text);
  if (hit !== undefined) return hit;
  const ip = parseIpUncached(text);
  if (ipCache.size >= CACHE_MAX) ipCache.clear();
  ipCache.set(text, ip);
  return ip;
}

function parseIpUncached(text: string): Uint8Array | null {
  const kind = isIP(text);
  if (kind === 4) return Uint8Array.from(text.split(".").map(Number));
  if (kind !== 6) return null;
  let s = text;
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  let tail: number[] = [];
  const lastColon = s.lastIndexOf(":");
  if (s.slice(lastColon + 1).includes(".")) {
    const v4 = parseIpUncached(s.slice(lastColon + 1));
    if (!v4 || v4.length !== 4) return null;
    tail = [(v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!];
    s = s.slice(0, lastColon + 1);
    if (!s.endsWith("::")) s = s.slice(0, -1);
  }
  const groupsOf = (t: string): number[] => (t === "" ? [] : t.split(":").map((g) => parseInt(g, 16)));
  const gap = s.indexOf("::");
  const head = groupsOf(gap >= 0 ? s.slice(0, gap) : s);
  const rest = gap >= 0 ? groupsOf(s.slice(gap + 2)) : [];
  const fill = gap >= 0 ? 8 - head.length - rest.length - tail.length : 0;
  if (fill < 0) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  const mapped = out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.slice(12) : out;
}

/** A comparable text form of an IP literal (null when `text` is not one). */
export function canonicalIp(text: string): string | null {
  const ip = parseIp(text);
  return ip ? Array.from(ip, (b) => b.toString(16).padStart(2, "0")).join("") : null;
}

/** The IP a reverse name stands for (`4.3.2.1.in-addr.arpa.`, 32-nibble `ip6.arpa.`), or null. */
export function ipFromArpa(name: string): Uint8Array | null {
  const n = name.toLowerCase();
  if (n.endsWith(".in-addr.arpa.")) {
    const parts = n.slice(0, -".in-addr.arpa.".length).split(".");
    if (parts.length !== 4) return null;
    const bytes = parts.reverse().map((p) => (/^[0-9]{1,3}$/.test(p) ? Number(p) : NaN));
    if (bytes.some((b) => !(b >= 0 && b <= 255))) return null;
    return Uint8Array.from(bytes);
  }
  if (n.endsWith(".ip6.arpa.")) {
    const nibbles = n.slice(0, -".ip6.arpa.".length).split(".");
    if (nibbles.length !== 32 || nibbles.some((x) => !/^[0-9a-f]$/.test(x))) return null;
    const hex = nibbles.reverse().join("");
    const out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    const mapped = out.subarray(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff;
    return mapped ? out.slice(12) : out;
  }
  return null;
}

export function ipToHex(ip: Uint8Array): string {
  let s = "";
  for (const b of ip) s += b.toString(16).padStart(2, "0");
  return s;
}

/** Decodes the `<hex>` of `<hex>.addr`: 8 digits for IPv4, 32 for IPv6; null otherwise. */
export function ipFromHex(hex: string): Uint8Array | null {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9a-f]+$/i.test(hex)) return null;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Splits a presentation name into its labels (escapes kept), without the root. Shared: do not mutate. */
export function nameLabels(name: string): readonly string[] {
  const hit = labelCache.get(name);
  if (hit) return hit;
  const labels = splitLabels(name);
  if (labelCache.size >= CACHE_MAX) labelCache.clear();
  labelCache.set(name, labels);
  return labels;
}

function splitLabels(name: string): string[] {
  if (name === "." || name === "") return [];
  const trimmed = name.endsWith(".") && !name.endsWith("\\.") ? name.slice(0, -1) : name;
  if (!trimmed.includes("\\")) return trimmed.split(".");
  const out: string[] = [];
  let cur = "";
  for (let i = 0; i < trimmed.length; i++) {
    const c = trimmed[i]!;
    if (c === "\\" && i + 1 < trimmed.length) {
      cur += c + trimmed[i + 1]!;
      i++;
    } else if (c === ".") {
      out.push(cur);
      cur = "";
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** RFC 1464 `key=value`, with backquote escapes for `=`, backquotes and edge spaces in the key. */
export function rfc1464(key: string, value: string): string {
  let k = key.replaceAll("`", "``").replaceAll("=", "`=");
  const lead = /^ +/.exec(k)?.[0].length ?? 0;
  k = "` ".repeat(lead) + k.slice(lead);
  const trail = / +$/.exec(k)?.[0].length ?? 0;
  if (trail > 0) k = k.slice(0, k.length - trail) + "` ".repeat(trail);
  return `${k}=${value.replaceAll("`", "``")}`;
}
