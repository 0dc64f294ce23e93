/** PEM blocks: base64 DER between BEGIN/END lines, 64 characters a line. */
import { decodeBase64, encodeBase64 } from "../structs/json.ts";

export interface PemBlock {
  readonly type: string;
  readonly der: Uint8Array;
}

export function pemEncode(type: string, der: Uint8Array): string {
  const b64 = encodeBase64(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Every PEM block in the text, in order; text outside blocks is ignored, as Go's pem.Decode does. */
export function pemDecodeAll(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  for (const m of text.matchAll(BLOCK)) {
    const der = decodeBase64(m[2]!.replace(/\s+/g, ""));
    if (der !== null && der.length > 0) out.push({ type: m[1]!, der });
  }
  return out;
}

/** The first PEM block, or null when the text holds none. */
export function pemDecode(text: string): PemBlock | null {
  return pemDecodeAll(text)[0] ?? null;
}

/** Consul's colon-separated lowercase hex ("2d:09:5d"). */
export function hexString(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(":");
}

export function hexToBytes(hex: string): Uint8Array {
  const clean = hex.replace(/[^0-9a-fA-F]/g, "");
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Adds the trailing newline Consul guarantees on every PEM it hands out. */
export function ensureTrailingNewline(pem: string): string {
  return pem.endsWith("\n") ? pem : `${pem}\n`;
}

/** A copy backed by a plain ArrayBuffer, which WebCrypto and x509 typings insist on. */
export function plainBytes(u: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(u);
}
