/**
 * The packet envelope every gossip packet and stream frame travels in:
 *
 *   version(1) flags(1) labelLen(1) label | sealed
 *   sealed = AES-GCM(iv ‖ inner ‖ tag) with the header as AAD, or inner in clear
 *   inner  = timestamp(f64 ms) nonce(8) body
 *
 * The label (`lan:<dc>` or `wan`) keeps another datacenter's packets off our
 * LAN pool; the timestamp and nonce reject replays, inside a window and
 * outside it. Anything that does not open is dropped with a counted reason.
 */
import type { Keyring } from "./keyring.ts";
import type { Random } from "./random.ts";
import { Reader, Writer } from "./wire.ts";

export const WIRE_VERSION = 1;
const FLAG_ENCRYPTED = 1;
const enc = new TextEncoder();

export type DropReason = "malformed" | "unknownKey" | "unencrypted" | "wrongLabel" | "replayed" | "stale" | "badVersion";

export type Opened = { readonly ok: true; readonly body: Uint8Array } | { readonly ok: false; readonly reason: DropReason };

/** Nonces seen recently, in generations of one window each, so memory stays bounded. */
export class ReplayGuard {
  private gens: Set<number>[] = [new Set(), new Set(), new Set()];
  private genStart: number;
  private readonly windowMs: number;

  constructor(windowMs: number, now: number) {
    this.windowMs = windowMs;
    this.genStart = now;
  }

  /** Records a nonce; false if it was already seen. */
  check(nonce: number, now: number): boolean {
    if (now - this.genStart >= this.windowMs) {
      const skipped = Math.min(3, Math.floor((now - this.genStart) / this.windowMs));
      for (let i = 0; i < skipped; i++) this.gens = [new Set(), this.gens[0] as Set<number>, this.gens[1] as Set<number>];
      this.genStart += skipped * this.windowMs;
      if (now - this.genStart >= this.windowMs) this.genStart = now;
    }
    for (const g of this.gens) if (g.has(nonce)) return false;
    (this.gens[0] as Set<number>).add(nonce);
    return true;
  }
}

export interface Envelope {
  readonly label: string;
  keyring: Keyring | null;
  readonly random: Random;
  readonly now: () => number;
  readonly windowMs: number;
  readonly guard: ReplayGuard;
}

export function createEnvelope(label: string, keyring: Keyring | null, random: Random, now: () => number, windowMs: number): Envelope {
  if (enc.encode(label).length > 255) throw new RangeError(`Pool label is longer than 255 bytes: "${label}"`);
  return { label, keyring, random, now, windowMs, guard: new ReplayGuard(windowMs, now()) };
}

function header(label: string, encrypted: boolean): Uint8Array {
  const l = enc.encode(label);
  const h = new Uint8Array(3 + l.length);
  h[0] = WIRE_VERSION;
  h[1] = encrypted ? FLAG_ENCRYPTED : 0;
  h[2] = l.length;
  h.set(l, 3);
  return h;
}

/** 53 random bits: collisions inside one window are negligible. */
function nonce(r: Random): number {
  return Math.floor(r.next() * 2 ** 21) * 2 ** 32 + Math.floor(r.next() * 2 ** 32);
}

export function seal(env: Envelope, body: Uint8Array): Uint8Array {
  const w = new Writer(body.length + 20);
  w.f64(env.now()).f64(nonce(env.random)).raw(body);
  const inner = w.finish();
  const h = header(env.label, env.keyring !== null);
  const sealed = env.keyring ? env.keyring.encrypt(inner, h) : inner;
  const out = new Uint8Array(h.length + sealed.length);
  out.set(h, 0);
  out.set(sealed, h.length);
  return out;
}

export function open(env: Envelope, data: Uint8Array): Opened {
  if (data.length < 3) return { ok: false, reason: "malformed" };
  if (data[0] !== WIRE_VERSION) return { ok: false, reason: "badVersion" };
  const flags = data[1] as number;
  if ((flags & ~FLAG_ENCRYPTED) !== 0) return { ok: false, reason: "malformed" };
  const labelLen = data[2] as number;
  if (data.length < 3 + labelLen) return { ok: false, reason: "malformed" };
  const headerBytes = data.subarray(0, 3 + labelLen);
  let label: string;
  try {
    label = new TextDecoder("utf-8", { fatal: true }).decode(data.subarray(3, 3 + labelLen));
  } catch {
    return { ok: false, reason: "malformed" };
  }
  if (label !== env.label) return { ok: false, reason: "wrongLabel" };
  const rest = data.subarray(3 + labelLen);
  let inner: Uint8Array;
  if (flags & FLAG_ENCRYPTED) {
    if (!env.keyring) return { ok: false, reason: "unknownKey" };
    const plain = env.keyring.decrypt(rest, headerBytes);
    if (!plain) return { ok: false, reason: "unknownKey" };
    inner = plain;
  } else {
    if (env.keyring) return { ok: false, reason: "unencrypted" };
    inner = rest;
  }
  if (inner.length < 16) return { ok: false, reason: "malformed" };
  const r = new Reader(inner);
  const ts = r.f64();
  const n = r.f64();
  const now = env.now();
  if (!Number.isFinite(ts) || Math.abs(now - ts) > env.windowMs) return { ok: false, reason: "stale" };
  if (!env.guard.check(n, now)) return { ok: false, reason: "replayed" };
  return { ok: true, body: inner.subarray(16) };
}

/** Bytes the envelope adds around a body (for sizing piggybacked gossip). */
export function envelopeOverhead(env: Envelope): number {
  return 3 + enc.encode(env.label).length + 16 + (env.keyring ? 28 : 0);
}
