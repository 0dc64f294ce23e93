/**
 * The public (inbound) listener of a mesh endpoint. Each connection's first
 * byte says what it is: a TLS ClientHello goes through mutual TLS (client
 * chain to our roots, a service identity in our trust domain) and the
 * intentions; plain bytes are refused unless the service's MutualTLSMode is
 * permissive. Refusals are logged with their reason.
 */
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from "node:net";
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from "node:tls";
import type { Duplex } from "node:stream";
import type { MeshIdentity } from "./identity.ts";
import { errorText, type MeshLogger, silentLogger } from "./log.ts";
import type { InboundPolicy } from "./policy.ts";
import type { ServiceIdentity } from "./spiffe.ts";
import { serverTlsOptions, verifyPeer } from "./tls.ts";

export interface InboundContext {
  /** The authenticated client, or null for a plain connection let in by permissive mode. */
  readonly source: ServiceIdentity | null;
  /** Each HTTP request must be judged against the intentions (http protocol). */
  readonly perRequest: boolean;
}

export interface InboundOptions {
  readonly identity: MeshIdentity;
  readonly policy: InboundPolicy;
  readonly bindAddress: string;
  readonly bindPort: number;
  readonly logger?: MeshLogger;
  /** Takes over an admitted connection. */
  readonly handle: (socket: Duplex, ctx: InboundContext) => void;
}

const FIRST_BYTE_TIMEOUT_MS = 10_000;
/**
 * How often the listener's session ticket keys are replaced (a new secure
 * context brings new keys on every runtime here). Tickets sealed with the old
 * keys then fall back to one full handshake: safe, and it bounds how long a
 * ticket key can decrypt past sessions.
 */
const TICKET_KEY_ROTATION_MS = 60 * 60_000;

function peer(s: Socket | TLSSocket): string {
  return `${s.remoteAddress ?? "?"}:${s.remotePort ?? "?"}`;
}

export class InboundListener {
  private readonly o: InboundOptions;
  private readonly log: MeshLogger;
  private readonly net: NetServer;
  private tls: TlsServer | null = null;
  private readonly sockets = new Set<Duplex>();
  private unsubscribe: (() => void) | null = null;
  private rotation: ReturnType<typeof setInterval> | null = null;
  /** Connections refused, by reason class (for tests and metrics). */
  readonly refused = { tls: 0, intention: 0 };
  /** Mutual-TLS handshakes completed: full, or resumed from a session the client kept. */
  readonly handshakes = { full: 0, resumed: 0 };

  constructor(o: InboundOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
    this.net = createServer({ noDelay: true }, (raw) => this.accept(raw));
  }

  get port(): number {
    return (this.net.address() as AddressInfo | null)?.port ?? 0;
  }

  /** Follows the TLS material without binding a port: a gateway that accepts connections itself hands them in with `adopt`. */
  attach(): void {
    if (this.unsubscribe) return;
    const m = this.o.identity.material;
    if (m) this.ensureTls();
    this.unsubscribe = this.o.identity.onChange((mat) => {
      if (this.tls) this.tls.setSecureContext(serverTlsOptions(mat));
      else this.ensureTls();
    });
    this.rotation = setInterval(() => {
      const mat = this.o.identity.material;
      if (this.tls && mat) this.tls.setSecureContext(serverTlsOptions(mat));
    }, TICKET_KEY_ROTATION_MS);
    (this.rotation as { unref?: () => void }).unref?.();
  }

  /** Takes over a connection accepted elsewhere (any bytes already read pushed back onto it). */
  adopt(raw: Socket): void {
    this.accept(raw);
  }

  async start(): Promise<number> {
    this.attach();
    await new Promise<void>((resolve, reject) => {
      this.net.once("error", reject);
      this.net.listen(this.o.bindPort, this.o.bindAddress, () => {
        this.net.off("error", reject);
        resolve();
      });
    });
    return this.port;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    if (this.rotation) clearInterval(this.rotation);
    for (const s of this.sockets) s.destroy();
    if (this.net.listening) await new Promise<void>((r) => this.net.close(() => r()));
    this.tls?.close();
  }

  private track(s: Duplex): void {
    this.sockets.add(s);
    s.once("close", () => this.sockets.delete(s));
  }

  private ensureTls(): void {
    const m = this.o.identity.material;
    if (this.tls || !m) return;
    const server = createTlsServer(serverTlsOptions(m));
    server.on("secureConnection", (s: TLSSocket) => this.secured(s));
    server.on("tlsClientError", (err: Error & { code?: string }, s: TLSSocket) => {
      if (err.code === "ECONNRESET") {
        // Closed before a handshake began: what the sidecar's own TCP health check does every interval.
        this.log.debug(`inbound: ${peer(s)} closed before the TLS handshake`);
        return;
      }
      this.refused.tls++;
      const mode = this.o.policy.defaults.mutualTLSMode;
      this.log.warn(`inbound: TLS handshake from ${peer(s)} failed (mutual TLS mode ${mode}, plaintext refused): ${err.message}`);
    });
    this.tls = server;
  }

  private accept(raw: Socket): void {
    this.track(raw);
    raw.setNoDelay(true);
    raw.on("error", () => raw.destroy());
    if (this.o.policy.defaults.mutualTLSMode !== "permissive") {
      // Strict: straight into TLS without reading a byte first, so Node keeps its native TLS path
      // (a socket with bytes pushed back would be wrapped in a slower JS stream). Plaintext fails the handshake.
      if (!this.tls) {
        this.refused.tls++;
        this.log.warn(`inbound: refused ${peer(raw)}: no leaf certificate yet`);
        raw.destroy();
        return;
      }
      this.tls.emit("connection", raw);
      return;
    }
    const timer = setTimeout(() => raw.destroy(), FIRST_BYTE_TIMEOUT_MS);
    raw.once("data", (first: Uint8Array) => {
      clearTimeout(timer);
      raw.pause();
      raw.unshift(first);
      if (first[0] === 0x16) {
        if (!this.tls) {
          this.refused.tls++;
          this.log.warn(`inbound: refused ${peer(raw)}: no leaf certificate yet`);
          raw.destroy();
          return;
        }
        this.tls.emit("connection", raw);
        return;
      }
      this.log.debug(`inbound: plaintext connection from ${peer(raw)} admitted (permissive mutual TLS)`);
      this.o.handle(raw, { source: null, perRequest: false });
    });
  }

  private secured(s: TLSSocket): void {
    this.track(s);
    s.on("error", () => s.destroy());
    const resumed = s.isSessionReused();
    if (resumed) this.handshakes.resumed++;
    else this.handshakes.full++;
    const m = this.o.identity.material;
    const verdict = verifyPeer(s, m?.trustDomain ?? "");
    if (!verdict.ok) {
      this.refused.tls++;
      this.log.warn(`inbound: refused ${peer(s)}: ${verdict.reason}`);
      s.destroy();
      return;
    }
    const decision = this.o.policy.connection(verdict.identity);
    if (!decision.allowed) {
      this.refused.intention++;
      this.log.warn(`inbound: refused ${verdict.identity.service} (${peer(s)}${resumed ? ", resumed TLS session" : ""}) to ${this.o.policy.service}: ${decision.reason}`);
      s.destroy();
      return;
    }
    this.log.debug(`inbound: ${verdict.identity.service} (${peer(s)}) admitted: ${decision.reason}`);
    try {
      this.o.handle(s, { source: verdict.identity, perRequest: decision.perRequest });
    } catch (err) {
      this.log.error(`inbound: ${errorText(err)}`);
      s.destroy();
    }
  }
}
