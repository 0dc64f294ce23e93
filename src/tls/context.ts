/**
 * The agent's TLS state (Consul's tlsutil.Configurator): the loaded files of
 * each protocol, the certificate auto_encrypt handed this client, the Connect
 * CA roots a server also trusts for auto_encrypt clients, and what each side
 * of each protocol asks of a handshake. Listeners and dialers ask it on every
 * new connection, so a reload or a renewed certificate applies to the next
 * handshake without restarting anything.
 */
import { readCert } from "../connect/leaf.ts";
import { verifySignedBy } from "../connect/certs.ts";
import { pemDecode, pemEncode } from "../connect/pem.ts";
import { CIPHER_SUITES, type ProtocolTls, resolveProtocol, type TlsSettings, type TlsVersion } from "./config.ts";
import { type KeyPair, loadMaterial, type Material } from "./material.ts";
import type { HttpsTls } from "../runtime/serve_tls.ts";

/** What a TLS listener needs (the node:tls and native-server option shapes): the runtime's HTTPS options, used for the RPC port too. */
export type ServerTls = HttpsTls;

/** What a TLS dialer needs. */
export interface ClientTls {
  readonly ca: readonly string[];
  readonly pair: KeyPair | null;
  /** Name the server's certificate must carry; "" to check the chain only (Consul without verify_server_hostname). */
  readonly serverName: string;
  /** False only when nothing is to be verified (TLS for privacy alone). */
  readonly verify: boolean;
  readonly minVersion: ServerTls["minVersion"];
  readonly ciphers: string;
}

const NODE_VERSION: Record<TlsVersion, ServerTls["minVersion"]> = { TLSv1_0: "TLSv1", TLSv1_1: "TLSv1.1", TLSv1_2: "TLSv1.2", TLSv1_3: "TLSv1.3" };

const ciphersOf = (p: ProtocolTls): string => p.cipherSuites.map((c) => CIPHER_SUITES[c]).join(":");

interface Loaded {
  readonly rpc: ProtocolTls;
  readonly https: ProtocolTls;
  readonly rpcFiles: Material;
  readonly httpsFiles: Material;
  readonly autoEncrypt: boolean;
}

export interface TlsContextOptions {
  readonly serverMode: boolean;
  readonly datacenter: string;
  /** DNS domain ("consul." or "consul"); the trailing dot is dropped for names. */
  readonly domain: string;
}

export class TlsContext {
  private loaded: Loaded;
  private readonly o: TlsContextOptions;
  /** Certificate from auto_encrypt (client agents). */
  private autoCert: KeyPair | null = null;
  /** Connect CA roots: on servers, trusted for auto_encrypt clients; on clients, from the Sign answer. */
  private connectRoots: readonly string[] = [];
  private readonly listeners = new Set<() => void>();
  /** Bumped on every change, for tests and logs. */
  version = 0;

  private constructor(o: TlsContextOptions, loaded: Loaded) {
    this.o = o;
    this.loaded = loaded;
  }

  static async load(settings: TlsSettings, o: TlsContextOptions): Promise<TlsContext> {
    return new TlsContext(o, await loadAll(settings));
  }

  /** Re-reads the files of new settings; on any error the old state stays in force. */
  async reload(settings: TlsSettings): Promise<void> {
    this.loaded = await loadAll(settings);
    this.changed();
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.version++;
    for (const fn of this.listeners) fn();
  }

  get autoEncryptClient(): boolean {
    return this.loaded.autoEncrypt && !this.o.serverMode;
  }

  /** The internal RPC protocol's settings after defaults. */
  get rpc(): ProtocolTls {
    return this.loaded.rpc;
  }

  /** Manual CAs (ca_file / ca_path) of internal RPC, PEM each: what auto_encrypt hands clients as ManualCARoots. */
  get manualRpcCas(): readonly string[] {
    return this.loaded.rpcFiles.ca;
  }

  setAutoCert(pair: KeyPair): void {
    this.autoCert = pair;
    this.changed();
  }

  get autoCertificate(): KeyPair | null {
    return this.autoCert;
  }

  setConnectRoots(pems: readonly string[]): void {
    const split = pems.flatMap((p) => {
      const b = pemDecode(p);
      return b ? [pemEncode("CERTIFICATE", b.der)] : [];
    });
    if (split.join("") === this.connectRoots.join("")) return;
    this.connectRoots = split;
    this.changed();
  }

  /** Consul's VerifyIncomingRPC: plain connections to the RPC port are refused. */
  get verifyIncomingRpc(): boolean {
    return this.loaded.rpc.verifyIncoming;
  }

  private rpcCas(): string[] {
    return [...this.loaded.rpcFiles.ca, ...this.connectRoots];
  }

  /** The RPC port's TLS side (null when this agent has no certificate to serve with). */
  incomingRpc(opts: { requireClientCert?: boolean } = {}): ServerTls | null {
    const pair = this.loaded.rpcFiles.pair ?? this.autoCert;
    if (!pair) return null;
    const p = this.loaded.rpc;
    return { cert: pair.cert, key: pair.key, ca: this.rpcCas(), requestCert: opts.requireClientCert ?? p.verifyIncoming, minVersion: NODE_VERSION[p.tlsMinVersion], ciphers: ciphersOf(p) };
  }

  /** The HTTPS listener's TLS side, or null without a certificate. */
  incomingHttps(): ServerTls | null {
    const pair = this.loaded.httpsFiles.pair ?? this.autoCert;
    if (!pair) return null;
    const p = this.loaded.https;
    return { cert: pair.cert, key: pair.key, ca: [...this.loaded.httpsFiles.ca, ...this.connectRoots], requestCert: p.verifyIncoming, minVersion: NODE_VERSION[p.tlsMinVersion], ciphers: ciphersOf(p) };
  }

  /**
   * How to dial a server's RPC port (Consul's OutgoingRPCWrapper): null for
   * plain text, unless verify_outgoing or auto_encrypt ask for TLS. With
   * verify_server_hostname the server must be `server.<dc>.<domain>`.
   */
  outgoingRpc(dc = this.o.datacenter): ClientTls | null {
    const p = this.loaded.rpc;
    if (!p.verifyOutgoing && !this.loaded.autoEncrypt) return null;
    const ca = this.rpcCas();
    // A client prefers its auto_encrypt certificate; a server dials with its own.
    const pair = !this.o.serverMode && this.autoCert ? this.autoCert : (this.loaded.rpcFiles.pair ?? this.autoCert);
    const domain = this.o.domain.replace(/\.$/, "");
    return {
      ca,
      pair,
      serverName: p.verifyServerHostname ? `server.${dc}.${domain}` : "",
      verify: p.verifyOutgoing || (this.loaded.autoEncrypt && ca.length > 0),
      minVersion: NODE_VERSION[p.tlsMinVersion],
      ciphers: ciphersOf(p),
    };
  }

  /** The dial used for auto_encrypt's first Sign call: the server is checked, no client certificate is shown. */
  insecureRpc(dc = this.o.datacenter): ClientTls {
    const base = this.outgoingRpc(dc) ?? { ca: this.rpcCas(), pair: null, serverName: "", verify: true, minVersion: NODE_VERSION[this.loaded.rpc.tlsMinVersion], ciphers: ciphersOf(this.loaded.rpc) };
    return { ...base, pair: null, verify: base.ca.length > 0 };
  }

  /**
   * Checks a client certificate chain (DER, leaf first) against the RPC CAs;
   * answers why it is refused, or null. Runtimes differ in whether a wrapped
   * server socket checks the chain itself, so this always runs.
   */
  async refuseClientCert(chain: readonly Uint8Array[], nowMs: number): Promise<string | null> {
    return refuseChain(chain, this.rpcCas(), nowMs);
  }
}

/** Why a chain (leaf first) does not lead to one of `cas`, or null when it does. */
export async function refuseChain(chain: readonly Uint8Array[], cas: readonly string[], nowMs: number): Promise<string | null> {
  const leaf = chain[0];
  if (!leaf) return "no client certificate";
  let fields;
  try {
    fields = readCert(leaf);
  } catch (err) {
    return `unreadable client certificate: ${(err as Error).message}`;
  }
  if (nowMs < fields.notBefore.getTime()) return "client certificate is not valid yet";
  if (nowMs > fields.notAfter.getTime()) return "client certificate has expired";
  const pems = chain.map((d) => pemEncode("CERTIFICATE", d));
  // The leaf, or an intermediate it came with, must be signed by a trusted CA.
  for (let i = 0; i < pems.length; i++) {
    if (i > 0 && !(await verifySignedBy(pems[i - 1]!, pems[i]!))) break;
    for (const ca of cas) if (await verifySignedBy(pems[i]!, ca)) return null;
  }
  return "certificate signed by unknown authority (not by the agent CA or the Connect CA)";
}

async function loadAll(settings: TlsSettings): Promise<Loaded> {
  const rpc = resolveProtocol(settings, "internalRpc");
  const https = resolveProtocol(settings, "https");
  const autoEncrypt = settings.autoEncrypt.tls;
  return { rpc, https, rpcFiles: await loadMaterial(rpc, autoEncrypt), httpsFiles: await loadMaterial(https, autoEncrypt), autoEncrypt };
}
