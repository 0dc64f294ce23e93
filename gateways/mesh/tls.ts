/**
 * TLS material of a mesh endpoint (its leaf and the trusted roots) and the
 * identity checks done on each connection, over node:tls, which Bun, Deno
 * and Node implement alike for what is used here (client certificates
 * required, custom CAs, SNI, hot-swapped contexts; see the README of
 * gateways/).
 */
import { createHash } from "node:crypto";
import { type ConnectionOptions, createSecureContext, type PeerCertificate, type SecureContext, type TLSSocket, type TlsOptions } from "node:tls";
import { parseServiceUri, type ServiceIdentity, uriSans } from "./spiffe.ts";

export interface TlsMaterial {
  /** Leaf followed by any intermediates (Consul's CertPEM). */
  readonly certPem: string;
  readonly keyPem: string;
  /** Every trusted root (active and rotated-out ones, with their intermediates). */
  readonly roots: readonly string[];
  readonly trustDomain: string;
}

const sessionContexts = new WeakMap<TlsMaterial, string>();

/**
 * The session ID context of a listener: a digest of its leaf and roots, so a
 * session (ID or ticket) made under other material is never resumed, on top
 * of the new ticket keys each new secure context brings.
 */
function sessionIdContext(m: TlsMaterial): string {
  let id = sessionContexts.get(m);
  if (id === undefined) {
    const h = createHash("sha256").update(m.certPem).update("\0");
    for (const r of m.roots) h.update(r).update("\0");
    id = h.digest("hex").slice(0, 32);
    sessionContexts.set(m, id);
  }
  return id;
}

/**
 * Server side: a client certificate is required; the chain and identity are
 * judged per connection (see verifyPeer), resumed sessions included.
 */
export function serverTlsOptions(m: TlsMaterial): TlsOptions {
  return {
    sessionIdContext: sessionIdContext(m),
    key: m.keyPem,
    cert: m.certPem,
    ca: [...m.roots],
    requestCert: true,
    // Chain failures are refused by verifyPeer after the handshake so the reason can be logged on every runtime.
    rejectUnauthorized: false,
    minVersion: "TLSv1.2",
    // A sidecar's HTTP/2 and gRPC upstreams ask for h2; anything else negotiates nothing or http/1.1.
    ALPNProtocols: ["h2", "http/1.1"],
  };
}

const clientContexts = new WeakMap<TlsMaterial, SecureContext>();

/** One client context per material: parsing PEMs and building the trust store per connection would cost more than the handshake. */
function clientContext(m: TlsMaterial): SecureContext {
  let ctx = clientContexts.get(m);
  if (!ctx) {
    ctx = createSecureContext({ key: m.keyPem, cert: m.certPem, ca: [...m.roots], minVersion: "TLSv1.2" });
    clientContexts.set(m, ctx);
  }
  return ctx;
}

/** Client side: the server chain must verify against the roots and the server must be `expect`. */
export function clientTlsOptions(m: TlsMaterial, sni: string, expect: (id: ServiceIdentity) => string | null): ConnectionOptions {
  return {
    secureContext: clientContext(m),
    servername: sni,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
    checkServerIdentity: (_host: string, cert: PeerCertificate) => {
      const problem = serverProblem(cert.subjectaltname, m.trustDomain, expect);
      return problem === null ? undefined : new Error(problem);
    },
  };
}

/** Why a server certificate's SANs are not the `expect`ed service in our trust domain, or null when they are. */
export function serverProblem(subjectAltName: string | undefined, trustDomain: string, expect: (id: ServiceIdentity) => string | null): string | null {
  const r = identityOf(subjectAltName, trustDomain);
  return r.ok ? expect(r.identity) : r.reason;
}

export type PeerVerdict = { readonly ok: true; readonly identity: ServiceIdentity; readonly uri: string } | { readonly ok: false; readonly reason: string };

function identityOf(subjectAltName: string | undefined, trustDomain: string): PeerVerdict {
  const uris = uriSans(subjectAltName);
  if (uris.length === 0) return { ok: false, reason: "certificate has no SPIFFE URI SAN" };
  for (const uri of uris) {
    const id = parseServiceUri(uri);
    if (!id) continue;
    if (id.trustDomain !== trustDomain.toLowerCase()) {
      return { ok: false, reason: `certificate trust domain ${JSON.stringify(id.trustDomain)} is not ${JSON.stringify(trustDomain)}` };
    }
    return { ok: true, identity: id, uri };
  }
  return { ok: false, reason: `certificate URI ${JSON.stringify(uris[0])} is not a service identity` };
}

/** What the checks read of a peer certificate. */
interface PeerCert {
  readonly subjectAltName: string | undefined;
  readonly validFrom: string;
  readonly validTo: string;
}

/**
 * The peer's certificate, or null when it presented none. The X509Certificate
 * view where the runtime has one: its fields are computed when read, where
 * getPeerCertificate() builds every field (three fingerprints, the public
 * key, the raw bytes) on each connection.
 */
function peerCert(socket: TLSSocket): PeerCert | null {
  if (typeof socket.getPeerX509Certificate === "function") {
    const x = socket.getPeerX509Certificate();
    return x ? { subjectAltName: x.subjectAltName, validFrom: x.validFrom, validTo: x.validTo } : null;
  }
  const cert = socket.getPeerCertificate();
  if (cert === null || cert === undefined || Object.keys(cert).length === 0) return null;
  return { subjectAltName: cert.subjectaltname, validFrom: cert.valid_from, validTo: cert.valid_to };
}

/** Why a chain failed, in words; node's codes differ a little per runtime, so an expired leaf is checked here too. */
function chainReason(socket: TLSSocket, cert: PeerCert, now: number): string {
  if (cert.validTo && Date.parse(cert.validTo) < now) return `certificate has expired (${cert.validTo})`;
  if (cert.validFrom && Date.parse(cert.validFrom) > now) return `certificate is not yet valid (${cert.validFrom})`;
  const code = String(socket.authorizationError ?? "unknown error");
  return `certificate chain is not trusted: ${code}`;
}

/**
 * Judges the client of an accepted connection: a certificate, a chain to our
 * roots, and a service identity in our trust domain. A resumed session
 * carries the certificate and chain verdict of the handshake that made it
 * (every runtime here keeps both), so the certificate must also still be
 * within its validity now.
 */
export function verifyPeer(socket: TLSSocket, trustDomain: string, now = Date.now()): PeerVerdict {
  const cert = peerCert(socket);
  if (!cert) return { ok: false, reason: "no client certificate presented" };
  if (!socket.authorized) return { ok: false, reason: chainReason(socket, cert, now) };
  if (socket.isSessionReused() && !(Date.parse(cert.validTo) >= now && Date.parse(cert.validFrom) <= now)) {
    return { ok: false, reason: `resumed session: ${chainReason(socket, cert, now)}` };
  }
  return identityOf(cert.subjectAltName, trustDomain);
}
