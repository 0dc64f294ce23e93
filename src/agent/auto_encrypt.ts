/**
 * auto_encrypt on a client agent (Consul's agent/auto-config/auto_encrypt.go):
 * with only the CA that signed the servers, the agent makes a key and a CSR
 * for spiffe://unknown/agent/client/dc/<dc>/id/<node> (the server puts in the
 * real trust domain), sends it to a server it learnt from gossip over the
 * "TLS insecure" RPC byte (the server is verified, no client certificate is
 * shown, only AutoEncrypt.Sign is answered), and from then on shows the
 * Connect-CA certificate it got. It renews the certificate through the normal
 * (mutual TLS) RPC at 60-90% of its life (renewalTime), and keeps the Connect CA roots it
 * trusts current. On a server with allow_tls, the same roots watch makes the
 * server trust the client certificates the Connect CA signs.
 */
import { createCsr, exportSec1Pem, generateKeyPair, readCert } from "../connect/mod.ts";
import { spiffeUri } from "../connect/spiffe.ts";
import type { Logger } from "./logger.ts";
import { defaultOptions, type Rpc, RpcConnection, type ServerSource } from "../rpc/mod.ts";
import type { IndexedCARoots } from "../structs/connect_ca.ts";
import type { TlsContext } from "../tls/mod.ts";

export interface AutoEncryptOptions {
  readonly ctx: TlsContext;
  readonly datacenter: string;
  readonly nodeName: string;
  readonly dnsSan: readonly string[];
  readonly ipSan: readonly string[];
  readonly servers: ServerSource;
  /** The router, for renewals and the roots watch once a certificate is in hand. */
  readonly rpc: Rpc;
  readonly logger: Logger;
  readonly random?: () => number;
}

async function makeCsr(o: AutoEncryptOptions, trustDomain: string): Promise<{ csr: string; key: string }> {
  const keys = await generateKeyPair();
  const uri = spiffeUri({ kind: "agent", host: trustDomain, partition: "", datacenter: o.datacenter, agent: o.nodeName });
  const csr = await createCsr({ uri, keys, dnsNames: ["localhost", ...o.dnsSan], ipAddresses: ["127.0.0.1", "::1", ...o.ipSan] });
  return { csr, key: await exportSec1Pem(keys) };
}

const rootPems = (roots: IndexedCARoots): string[] => roots.Roots.map((r) => r.RootCert);

/** Keeps the Connect CA roots the context trusts current, by blocking reads; stops when `stopped()`. */
export async function watchConnectRoots(rpc: Rpc, ctx: TlsContext, datacenter: string, stopped: () => boolean, onError: (err: Error) => void): Promise<void> {
  let index = 0;
  while (!stopped()) {
    try {
      const r = await rpc.call("ConnectCA.Roots", {}, { ...defaultOptions(datacenter), minIndex: index, waitMs: 60_000 });
      if (stopped()) return;
      ctx.setConnectRoots(rootPems(r.value));
      index = r.index;
    } catch (err) {
      onError(err as Error);
      await new Promise((res) => setTimeout(res, 2000));
    }
  }
}

/**
 * When to renew a certificate: at a random point between 60% and 90% of its
 * life, as Consul's leaf certificate cache does. The life is counted from when
 * the certificate arrived, not from its NotBefore, which the CA backdates by a
 * minute for clock drift: the same within a minute for real TTLs (1h and up),
 * and still before expiry for the seconds-long ones tests use.
 */
export function renewalTime(nowMs: number, notAfterMs: number, jitter: number): number {
  const life = Math.max(0, notAfterMs - nowMs);
  return nowMs + life * (0.6 + 0.3 * jitter);
}

export class AutoEncrypt {
  private readonly o: AutoEncryptOptions;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private trustDomain = "unknown";
  /** Certificates received (first one and renewals), for tests and logs. */
  issued = 0;

  constructor(o: AutoEncryptOptions) {
    this.o = o;
  }

  /** Fetches the first certificate in the background (retrying until a server answers), then renews it. */
  start(): void {
    void this.initial();
  }

  private async initial(): Promise<void> {
    const { csr, key } = await makeCsr(this.o, this.trustDomain);
    while (!this.stopped) {
      for (const s of this.o.servers.servers()) {
        const conn = new RpcConnection({ host: s.host, port: s.port, tls: () => this.o.ctx.insecureRpc(), insecure: true, connectTimeoutMs: 5000 });
        try {
          const r = await conn.call("AutoEncrypt.Sign", { CSR: csr }, defaultOptions(this.o.datacenter));
          const resp = r as import("../rpc/methods.ts").AutoEncryptSigned;
          this.o.ctx.setConnectRoots([...rootPems(resp.ConnectCARoots), ...resp.ManualCARoots]);
          this.accept(resp.IssuedCert.CertPEM, key);
          this.trustDomain = resp.ConnectCARoots.TrustDomain || this.trustDomain;
          void watchConnectRoots(this.o.rpc, this.o.ctx, this.o.datacenter, () => this.stopped, (err) => this.o.logger.debug(`auto_encrypt: roots watch: ${err.message}`));
          return;
        } catch (err) {
          this.o.logger.error(`auto_encrypt: AutoEncrypt.Sign RPC failed: addr=${s.host}:${s.port} error="${(err as Error).message}"`);
        } finally {
          conn.close();
        }
      }
      await new Promise((res) => setTimeout(res, 1000));
    }
  }

  private accept(certPem: string, key: string): void {
    this.o.ctx.setAutoCert({ cert: certPem, key });
    this.issued++;
    const c = readCert(certPem);
    const at = renewalTime(Date.now(), c.notAfter.getTime(), (this.o.random ?? Math.random)());
    this.o.logger.info(`auto_encrypt: received a client certificate (serial ${c.serial.toString(16)}) valid until ${c.notAfter.toISOString()}; renewing at ${new Date(at).toISOString()}`);
    this.schedule(Math.max(1000, at - Date.now()));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    // setTimeout takes at most 2^31-1 ms; a longer wait is taken in steps.
    const step = Math.min(ms, 2 ** 31 - 1);
    this.timer = setTimeout(() => {
      if (step < ms) return this.schedule(ms - step);
      void this.renew();
    }, step);
  }

  /** A new key and certificate over the normal RPC, which the current certificate authenticates. */
  async renew(): Promise<void> {
    try {
      const { csr, key } = await makeCsr(this.o, this.trustDomain);
      const cert = await this.o.rpc.call("ConnectCA.Sign", { CSR: csr }, defaultOptions(this.o.datacenter));
      this.accept(cert.CertPEM, key);
    } catch (err) {
      this.o.logger.error(`auto_encrypt: renewing the client certificate failed (retrying in 10s): ${(err as Error).message}`);
      this.schedule(10_000);
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
  }
}
