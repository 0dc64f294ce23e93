/**
 * Standard (padded) base64, as Go's `base64.StdEncoding`: KV values travel in
 * it, and `kv put -base64` / `kv import` reject what Go would reject.
 */

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  const chunk = 0x8000;
  for (let i = 0; i < bytes.length; i += chunk) {
    binary += String.fromCharCode(...bytes.subarray(i, i + chunk));
  }
  return btoa(binary);
}

/** A base64 string that Go's StdEncoding would refuse. */
export class Base64Error extends Error {
  override readonly name = "Base64Error";
  /** Byte offset of the first offending character, as Go reports it. */
  readonly offset: number;

  constructor(offset: number) {
    super(`illegal base64 data at input byte ${offset}`);
    this.offset = offset;
  }
}

export function decodeBase64(text: string): Uint8Array {
  const firstPad = text.indexOf("=");
  const body = firstPad === -1 ? text : text.slice(0, firstPad);
  for (let i = 0; i < body.length; i++) {
    if (!ALPHABET.includes(body[i] ?? "")) throw new Base64Error(i);
  }
  if (firstPad !== -1) {
    const pad = text.slice(firstPad);
    if (!/^={1,2}$/.test(pad) || text.length % 4 !== 0) throw new Base64Error(firstPad);
  } else if (text.length % 4 !== 0) {
    throw new Base64Error(text.length - (text.length % 4));
  }
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}
