/**
 * TLS session resumption between mesh endpoints, client side: the last
 * session ticket each upstream instance gave us, so the next connection to it
 * costs an abbreviated handshake instead of a full mutual-TLS one.
 *
 * Sessions are kept per TlsMaterial object, and a new object is built on every
 * leaf or roots change (MeshIdentity.rebuild), so a session made under an old
 * leaf or an old trust store is never offered again: the cache is keyed by
 * leaf + roots without parsing either. Within a material the key is the
 * dialled address, the SNI (which names the expected service) and the ALPN
 * list, so a session verified for one server identity is only ever offered to
 * the same address for the same identity. The accepting side still judges the
 * client certificate the resumed session carries, and the intentions, on every
 * connection (inbound.ts); its ticket keys change with its material
 * (setSecureContext) and on a timer.
 */
import type { TLSSocket } from "node:tls";
import type { TlsMaterial } from "./tls.ts";

/** Sessions kept per material; past it the oldest is dropped (one per upstream instance is the working set). */
const MAX_SESSIONS = 4096;

const byMaterial = new WeakMap<TlsMaterial, Map<string, Buffer>>();

/** The cache key of a dial: where, which identity (the SNI names it) and which protocols. */
export function sessionKey(address: string, port: number, sni: string, alpn: readonly string[] | undefined): string {
  return `${address}:${port}/${sni}/${alpn ? alpn.join(",") : ""}`;
}

/** The session to offer for `key`, if one was kept under this material. */
export function sessionFor(m: TlsMaterial, key: string): Buffer | undefined {
  return byMaterial.get(m)?.get(key);
}

/** Keeps every session (ticket) the server sends on `s` under `key`, the last one winning. */
export function keepSessions(m: TlsMaterial, key: string, s: TLSSocket): void {
  s.on("session", (session: Buffer) => {
    let map = byMaterial.get(m);
    if (!map) {
      map = new Map();
      byMaterial.set(m, map);
    }
    map.delete(key);
    map.set(key, session);
    if (map.size > MAX_SESSIONS) map.delete(map.keys().next().value!);
  });
}

/** Drops the session of `key` (a handshake that offered it failed). */
export function forgetSession(m: TlsMaterial, key: string): void {
  byMaterial.get(m)?.delete(key);
}
