/**
 * A TLS listener for a fetch handler with several certificates picked by SNI,
 * protocol version bounds and a cipher list, on the runtime's native server
 * where it has one that takes all of that: Bun.serve (its `tls` array selects
 * by `serverName`, wildcards included, the first entry serving clients that
 * name no host). Elsewhere `nativeSniListener` answers null and the caller
 * keeps its node:https listener (SNICallback), which Node and Deno honour.
 *
 * New TLS settings apply without closing the port or open connections: a
 * second server starts on the same port (SO_REUSEPORT), then the first stops
 * accepting and lets its connections finish.
 */
import { constants } from "node:crypto";
import { bunGlobal } from "./serve_bun.ts";

export const TLS_VERSIONS = ["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"] as const;
export type TlsVersion = (typeof TLS_VERSIONS)[number];

export interface SniCertificate {
  /** Host names (`*.example.com` allowed) this certificate answers; the first certificate is also the default. */
  readonly serverNames: readonly string[];
  readonly cert: string;
  readonly key: string;
}

export interface ListenerTls {
  readonly certificates: readonly SniCertificate[];
  readonly minVersion: TlsVersion;
  /** "" for the runtime's highest. */
  readonly maxVersion: TlsVersion | "";
  /** OpenSSL cipher list for TLS 1.2 and below; "" for defaults. */
  readonly ciphers: string;
}

export interface SniListenerOptions {
  readonly hostname: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly tls: ListenerTls;
  readonly maxRequestBodySize: number;
  readonly fetch: (request: Request, sourceIp: () => string) => Promise<Response>;
  /** A handler that threw (the client gets a 502). */
  readonly onError?: (err: unknown) => void;
}

export interface SniListener {
  readonly port: number;
  /** Requests in flight (this server shows no idle connections). */
  readonly connections: number;
  /** New certificates and TLS settings for connections made from now on. */
  setTls(tls: ListenerTls): void;
  /** Stops accepting; requests in flight get `graceMs`, then every connection is closed. */
  close(graceMs: number): Promise<void>;
}

/** The OpenSSL "no TLSv1.x" options outside [min, max] (Bun.serve takes no minVersion/maxVersion). */
export function versionBounds(min: TlsVersion, max: TlsVersion | ""): number {
  const flags = [constants.SSL_OP_NO_TLSv1, constants.SSL_OP_NO_TLSv1_1, constants.SSL_OP_NO_TLSv1_2, constants.SSL_OP_NO_TLSv1_3] as const;
  const lo = TLS_VERSIONS.indexOf(min);
  const hi = max === "" ? TLS_VERSIONS.length - 1 : TLS_VERSIONS.indexOf(max);
  let bits = 0;
  for (let i = 0; i < TLS_VERSIONS.length; i++) if (i < lo || i > hi) bits |= flags[i]!;
  return bits;
}

interface BunSniServer {
  readonly port: number;
  readonly pendingRequests: number;
  requestIP(req: Request): { address: string } | null;
  stop(closeActiveConnections?: boolean): Promise<void> | void;
}
interface BunSniTls {
  cert: string;
  key: string;
  serverName?: string;
  secureOptions: number;
  ciphers?: string;
}
interface BunSniServe {
  serve(o: {
    hostname: string;
    port: number;
    reusePort: boolean;
    idleTimeout: number;
    maxRequestBodySize: number;
    tls: BunSniTls[];
    fetch(req: Request, server: BunSniServer): Promise<Response>;
    error(err: unknown): Response;
  }): BunSniServer;
}

function bunTlsEntries(tls: ListenerTls): BunSniTls[] {
  const secureOptions = versionBounds(tls.minVersion, tls.maxVersion);
  const base = (c: SniCertificate) => ({ cert: c.cert, key: c.key, secureOptions, ...(tls.ciphers !== "" ? { ciphers: tls.ciphers } : {}) });
  const out: BunSniTls[] = [];
  const first = tls.certificates[0];
  if (first) out.push(base(first));
  const named = new Set<string>();
  for (const c of tls.certificates) {
    for (const name of c.serverNames) {
      const n = name.toLowerCase();
      if (n === "" || n === "*" || named.has(n)) continue;
      named.add(n);
      out.push({ ...base(c), serverName: n });
    }
  }
  return out;
}

/** The native SNI listener, or null where the runtime has none (use node:https there). */
export function nativeSniListener(o: SniListenerOptions): SniListener | null {
  const bun = bunGlobal() as unknown as BunSniServe | null;
  if (!bun) return null;
  const start = (port: number, tls: ListenerTls) =>
    bun.serve({
      hostname: o.hostname,
      port,
      reusePort: true,
      idleTimeout: 60,
      maxRequestBodySize: o.maxRequestBodySize,
      tls: bunTlsEntries(tls),
      fetch: (req, srv) => o.fetch(req, () => srv.requestIP(req)?.address ?? ""),
      error(err) {
        o.onError?.(err);
        return new Response("upstream reset", { status: 502, headers: { "content-type": "text/plain" } });
      },
    });
  let server = start(o.port, o.tls);
  const port = server.port;
  const retired = new Set<BunSniServer>();
  return {
    port,
    get connections() {
      return [server, ...retired].reduce((a, s) => a + s.pendingRequests, 0);
    },
    setTls(tls) {
      const old = server;
      server = start(port, tls);
      retired.add(old);
      void Promise.resolve(old.stop(false)).finally(() => retired.delete(old));
    },
    async close(graceMs) {
      const all = [server, ...retired];
      const stopped = Promise.all(all.map((s) => Promise.resolve(s.stop(false))));
      if (graceMs > 0) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([stopped, new Promise((r) => (timer = setTimeout(r, graceMs)))]);
        clearTimeout(timer);
      }
      await Promise.all(all.map((s) => Promise.resolve(s.stop(true))));
    },
  };
}
