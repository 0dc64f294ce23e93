/**
 * One listener of the gateway process, whatever serves it: the runtime's
 * native TLS server where it selects certificates by SNI and takes version
 * bounds and ciphers (src/runtime/serve_sni.ts), else node:https with an
 * SNICallback (node_server.ts), and node:http for a listener without TLS.
 * The listener's TLS comes from the api-gateway entry: its certificates
 * (each answering the DNS names of its subject alternative names, the first
 * also serving clients that name no host), MinVersion/MaxVersion and
 * CipherSuites.
 */
import { X509Certificate } from "node:crypto";
import { CIPHER_SUITES } from "../../src/tls/config.ts";
import { type ListenerTls, nativeSniListener, type TlsVersion } from "../../src/runtime/serve_sni.ts";
import { MAX_REQUEST_BODY } from "./handler.ts";
import { type CertPair, FetchServer, SniCertificates } from "./node_server.ts";

export interface GatewayListener {
  readonly port: number;
  /** Open connections (requests in flight where the server shows no idle connections). */
  readonly connections: number;
  /** New certificates / TLS settings; connections already open keep theirs. */
  setTls(tls: ListenerTls): void;
  close(graceMs: number): Promise<void>;
}

export interface ListenerOptions {
  readonly host: string;
  readonly port: number;
  readonly tls: ListenerTls | null;
  /** `sourceIp` is looked up when called. */
  readonly fetch: (request: Request, sourceIp: () => string) => Promise<Response>;
  readonly onError: (err: unknown) => void;
}

/** Consul's listener TLS version names (TLS_AUTO or "" leave the default). */
const VERSION_NAMES: Readonly<Record<string, TlsVersion>> = { TLSv1_0: "TLSv1", TLSv1_1: "TLSv1.1", TLSv1_2: "TLSv1.2", TLSv1_3: "TLSv1.3" };

/** The DNS names a certificate answers (its DNS SANs, else its CN). */
export function certificateNames(certPem: string): string[] {
  try {
    const x = new X509Certificate(certPem);
    const sans = (x.subjectAltName ?? "").split(",").map((p) => p.trim()).filter((p) => p.startsWith("DNS:")).map((p) => p.slice(4).toLowerCase());
    if (sans.length > 0) return sans;
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(x.subject)?.[1];
    return cn ? [cn.toLowerCase()] : [];
  } catch {
    return [];
  }
}

/**
 * The listener TLS of an api-gateway listener's `TLS` block and its
 * resolved certificates; `unknown` collects cipher suite names with no
 * OpenSSL equivalent (left out).
 */
export function listenerTls(tls: { MinVersion?: string; MaxVersion?: string; CipherSuites?: readonly string[] }, pairs: readonly CertPair[], unknown: string[] = []): ListenerTls {
  const ciphers: string[] = [];
  for (const c of tls.CipherSuites ?? []) {
    const name = CIPHER_SUITES[c];
    if (name) ciphers.push(name);
    else unknown.push(c);
  }
  return {
    certificates: pairs.map((p) => ({ serverNames: certificateNames(p.certPem), cert: p.certPem, key: p.keyPem })),
    // Consul's default floor for gateway listeners is TLS 1.2.
    minVersion: VERSION_NAMES[tls.MinVersion ?? ""] ?? "TLSv1.2",
    maxVersion: VERSION_NAMES[tls.MaxVersion ?? ""] ?? "",
    ciphers: ciphers.join(":"),
  };
}

function nodeCertificates(certs: SniCertificates, tls: ListenerTls): void {
  certs.bounds = { minVersion: tls.minVersion, maxVersion: tls.maxVersion, ciphers: tls.ciphers };
  certs.set(tls.certificates.map((c, i) => ({ hosts: i === 0 ? ["*", ...c.serverNames] : c.serverNames, pair: { certPem: c.cert, keyPem: c.key } })));
}

export async function openListener(o: ListenerOptions): Promise<GatewayListener> {
  if (o.tls && o.tls.certificates.length > 0) {
    const native = nativeSniListener({ hostname: o.host, port: o.port, tls: o.tls, maxRequestBodySize: MAX_REQUEST_BODY + 1, fetch: (req, ip) => o.fetch(req, ip), onError: o.onError });
    if (native) {
      let current = JSON.stringify(o.tls);
      return {
        port: native.port,
        get connections() {
          return native.connections;
        },
        setTls(tls) {
          // The native server restarts on the same port to change TLS: only when something changed.
          const next = JSON.stringify(tls);
          if (next === current || tls.certificates.length === 0) return;
          current = next;
          native.setTls(tls);
        },
        close: (graceMs) => native.close(graceMs),
      };
    }
  }
  const certs = o.tls && o.tls.certificates.length > 0 ? new SniCertificates() : null;
  if (certs && o.tls) nodeCertificates(certs, o.tls);
  const server = new FetchServer({ handler: (req, info) => o.fetch(req, () => info.sourceIp), certificates: certs, onError: o.onError });
  const port = await server.listen(o.host, o.port);
  return {
    port,
    get connections() {
      return server.connections;
    },
    setTls(tls) {
      if (certs && tls.certificates.length > 0) nodeCertificates(certs, tls);
    },
    close: (graceMs) => server.close(graceMs),
  };
}
