/**
 * The encryption keyring (memberlist keyring.go): AES-GCM keys of 16, 24 or
 * 32 bytes, the first one primary. We encrypt with the primary and decrypt
 * with whichever installed key works, so a key is installed everywhere
 * before it is used, then the old one is removed: rotation without a gap.
 */
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";

export class KeyringError extends Error {
  override readonly name = "KeyringError";
}

const IV_SIZE = 12;
const TAG_SIZE = 16;
export const ENCRYPTION_OVERHEAD = IV_SIZE + TAG_SIZE;

const ALGORITHMS: Record<number, "aes-128-gcm" | "aes-192-gcm" | "aes-256-gcm"> = { 16: "aes-128-gcm", 24: "aes-192-gcm", 32: "aes-256-gcm" };

export function validateKey(key: Uint8Array): void {
  if (!(key.length in ALGORITHMS)) throw new KeyringError("key size must be 16, 24 or 32 bytes");
}

/** Decodes a base64 key as `consul keygen` prints it; throws KeyringError on bad input. */
export function decodeKey(b64: string): Uint8Array {
  const s = b64.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw new KeyringError(`Invalid key: "${b64}" is not valid base64`);
  const key = new Uint8Array(Buffer.from(s, "base64"));
  validateKey(key);
  return key;
}

export function encodeKey(key: Uint8Array): string {
  return Buffer.from(key).toString("base64");
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class Keyring {
  private ring: Uint8Array[];

  constructor(keys: readonly Uint8Array[], primary?: Uint8Array) {
    const p = primary ?? keys[0];
    if (!p) throw new KeyringError("A keyring needs at least one key");
    for (const k of keys) validateKey(k);
    validateKey(p);
    this.ring = [p, ...keys.filter((k) => !same(k, p))];
  }

  static fromBase64(keys: readonly string[], primary?: string): Keyring {
    return new Keyring(keys.map(decodeKey), primary === undefined ? undefined : decodeKey(primary));
  }

  /** Primary first. */
  keys(): Uint8Array[] {
    return this.ring.slice();
  }

  primary(): Uint8Array {
    return this.ring[0] as Uint8Array;
  }

  /** Installs a key for decryption (no-op if present). */
  addKey(key: Uint8Array): void {
    validateKey(key);
    if (this.ring.some((k) => same(k, key))) return;
    this.ring.push(key);
  }

  useKey(key: Uint8Array): void {
    const found = this.ring.find((k) => same(k, key));
    if (!found) throw new KeyringError("Requested key is not in the keyring");
    this.ring = [found, ...this.ring.filter((k) => k !== found)];
  }

  removeKey(key: Uint8Array): void {
    if (same(key, this.primary())) throw new KeyringError("Removing the primary key is not allowed");
    this.ring = this.ring.filter((k) => !same(k, key));
  }

  /** iv ‖ ciphertext ‖ tag under the primary key, authenticating `aad` too. */
  encrypt(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const key = this.primary();
    const iv = randomBytes(IV_SIZE);
    const c = createCipheriv(ALGORITHMS[key.length] as "aes-256-gcm", key, iv);
    c.setAAD(aad);
    const head = c.update(plaintext);
    const tail = c.final();
    const tag = c.getAuthTag();
    const out = new Uint8Array(IV_SIZE + head.length + tail.length + TAG_SIZE);
    out.set(iv, 0);
    out.set(head, IV_SIZE);
    out.set(tail, IV_SIZE + head.length);
    out.set(tag, IV_SIZE + head.length + tail.length);
    return out;
  }

  /** The plaintext, or null when no installed key opens it. */
  decrypt(data: Uint8Array, aad: Uint8Array): Uint8Array | null {
    if (data.length < ENCRYPTION_OVERHEAD) return null;
    const iv = data.subarray(0, IV_SIZE);
    const ct = data.subarray(IV_SIZE, data.length - TAG_SIZE);
    const tag = data.subarray(data.length - TAG_SIZE);
    for (const key of this.ring) {
      try {
        const d = createDecipheriv(ALGORITHMS[key.length] as "aes-256-gcm", key, iv);
        d.setAAD(aad);
        d.setAuthTag(tag);
        const head = d.update(ct);
        const tail = d.final();
        if (tail.length === 0) return new Uint8Array(head.buffer, head.byteOffset, head.length);
        const out = new Uint8Array(head.length + tail.length);
        out.set(head, 0);
        out.set(tail, head.length);
        return out;
      } catch {
        // wrong key: try the next one
      }
    }
    return null;
  }
}
