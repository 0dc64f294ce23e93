/**
 * TLS over a socket that is already open: the RPC port reads its first byte
 * before it knows the connection is TLS (Consul's RPCTLS byte), so both
 * sides wrap an existing node:net socket. Works the same on Bun, Deno and
 * Node; the chain a server-side socket was shown is checked by the caller
 * (refuseChain), since runtimes differ in whether a wrapped socket does it.
 */
import type { Socket } from "node:net";
import { checkServerIdentity, connect as tlsConnect, createSecureContext, type PeerCertificate, TLSSocket } from "node:tls";
import type { ClientTls, ServerTls } from "./context.ts";

/** Takes over `socket` as the server side of a TLS handshake; `head` are bytes already read after the type byte. */
export function acceptTls(socket: Socket, head: Uint8Array, o: ServerTls): TLSSocket {
  socket.pause();
  if (head.length > 0) socket.unshift(head);
  const secureContext = createSecureContext({
    cert: o.cert,
    key: o.key,
    ca: [...o.ca],
    minVersion: o.minVersion,
    ...(o.ciphers !== "" ? { ciphers: o.ciphers } : {}),
  });
  return new TLSSocket(socket, { isServer: true, secureContext, requestCert: o.requestCert, rejectUnauthorized: o.requestCert });
}

/** The certificates a peer showed, leaf first, as DER. */
export function peerChain(t: TLSSocket): Uint8Array[] {
  const out: Uint8Array[] = [];
  let c: PeerCertificate | undefined = t.getPeerCertificate(true) as PeerCertificate & { issuerCertificate?: PeerCertificate };
  const seen = new Set<string>();
  while (c && c.raw && c.raw.length > 0 && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    out.push(new Uint8Array(c.raw));
    const next: PeerCertificate | undefined = (c as PeerCertificate & { issuerCertificate?: PeerCertificate }).issuerCertificate;
    if (!next || next === c) break;
    c = next;
  }
  return out;
}

/** Starts the client side of TLS over an open socket; resolves once the handshake and checks pass. */
export function dialTls(socket: Socket, o: ClientTls): Promise<TLSSocket> {
  return new Promise<TLSSocket>((resolve, reject) => {
    const t = tlsConnect({
      socket,
      ca: [...o.ca],
      ...(o.pair ? { cert: o.pair.cert, key: o.pair.key } : {}),
      ...(o.serverName !== "" ? { servername: o.serverName } : {}),
      rejectUnauthorized: o.verify,
      minVersion: o.minVersion,
      ...(o.ciphers !== "" ? { ciphers: o.ciphers } : {}),
      // Without verify_server_hostname Consul checks the chain but not the name.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => (o.serverName !== "" ? checkServerIdentity(o.serverName, cert) : undefined),
    });
    const fail = (err: Error) => {
      t.destroy();
      reject(err);
    };
    const closed = () => fail(new Error("connection closed by the server during the TLS handshake"));
    t.once("error", fail);
    t.once("close", closed);
    t.once("secureConnect", () => {
      t.off("error", fail);
      t.off("close", closed);
      resolve(t);
    });
  });
}

/** OpenSSL's codes, as the reason a refusal is logged with. */
const REASONS: Readonly<Record<string, string>> = {
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "certificate signed by unknown authority",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "certificate signed by unknown authority",
  UNABLE_TO_GET_ISSUER_CERT: "certificate signed by unknown authority",
  SELF_SIGNED_CERT_IN_CHAIN: "certificate signed by unknown authority",
  DEPTH_ZERO_SELF_SIGNED_CERT: "certificate signed by unknown authority",
  CERT_HAS_EXPIRED: "certificate has expired",
  CERT_NOT_YET_VALID: "certificate is not valid yet",
  ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE: "no client certificate",
  ERR_TLS_CERT_ALTNAME_INVALID: "certificate is not valid for the expected name",
};

/** A handshake error in words, with the runtime's code after it. */
export function describeTlsError(err: Error & { code?: string; reason?: string }): string {
  const code = err.code ?? "";
  const words = REASONS[code];
  if (words) return `${words} (${code}${err.reason ? `: ${err.reason}` : ""})`;
  return code !== "" ? `${err.message} (${code})` : err.message;
}
