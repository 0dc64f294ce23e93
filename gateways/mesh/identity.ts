/**
 * A mesh endpoint's identity: the leaf certificate of its service and the CA
 * roots, both watched with blocking queries, so a renewed leaf or a rotated
 * root reaches every new handshake without a restart; the last good material
 * is kept while the agent is unreachable.
 */
import type { Client } from "../../src/api/mod.ts";
import { errorText, type MeshLogger, silentLogger } from "./log.ts";
import { type CARoots, fetchLeaf, fetchRoots, type LeafCert } from "./sources.ts";
import { parseServiceUri } from "./spiffe.ts";
import type { TlsMaterial } from "./tls.ts";
import { Watch } from "./watch.ts";

export interface MeshIdentityOptions {
  readonly client: Client;
  /** The service whose leaf this endpoint presents. */
  readonly service: string;
  readonly logger?: MeshLogger;
}

/** PEMs of every root, each with the intermediates that chain to it (cross-signed roots included). */
export function trustedPems(roots: CARoots): string[] {
  const out: string[] = [];
  for (const r of roots.Roots) {
    out.push(r.RootCert);
    for (const i of r.IntermediateCerts ?? []) out.push(i);
  }
  return out;
}

export class MeshIdentity {
  readonly service: string;
  private readonly log: MeshLogger;
  private readonly leafWatch: Watch<LeafCert>;
  private readonly rootsWatch: Watch<CARoots>;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private current: TlsMaterial | null = null;
  private dcOf: { uri: string | undefined; dc: string | null } = { uri: undefined, dc: null };
  private readyResolve: (m: TlsMaterial) => void = () => {};
  private readonly readyPromise: Promise<TlsMaterial>;

  constructor(o: MeshIdentityOptions) {
    this.service = o.service;
    this.log = o.logger ?? silentLogger;
    this.readyPromise = new Promise((r) => (this.readyResolve = r));
    const onError = (what: string) => (err: unknown, failures: number) => {
      if (failures === 1 || failures % 20 === 0) this.log.warn(`${what} watch failed (keeping the last good one): ${errorText(err)}`);
    };
    this.leafWatch = new Watch({
      name: "leaf",
      fetch: (p) => fetchLeaf(o.client, o.service, p),
      onUpdate: (leaf) => {
        this.log.info(`leaf certificate for "${o.service}" loaded (serial ${leaf.SerialNumber}, valid until ${leaf.ValidBefore})`);
        this.rebuild();
      },
      onError: onError("leaf certificate"),
    });
    this.rootsWatch = new Watch({
      name: "roots",
      fetch: (p) => fetchRoots(o.client, p),
      onUpdate: (roots) => {
        this.log.info(`CA roots loaded (${roots.Roots.length} root(s), active ${roots.ActiveRootID})`);
        this.rebuild();
      },
      onError: onError("CA roots"),
    });
  }

  start(): this {
    this.leafWatch.start();
    this.rootsWatch.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.leafWatch.stop(), this.rootsWatch.stop()]);
  }

  /** The TLS material, or null before both leaf and roots arrived. */
  get material(): TlsMaterial | null {
    return this.current;
  }

  get leaf(): LeafCert | undefined {
    return this.leafWatch.value;
  }

  /** This service's datacenter, from its certificate's SPIFFE ID (parsed once per leaf: it is read on every connection). */
  get datacenter(): string | null {
    const uri = this.leafWatch.value?.ServiceURI;
    if (uri !== this.dcOf.uri) this.dcOf = { uri, dc: uri ? (parseServiceUri(uri)?.datacenter ?? null) : null };
    return this.dcOf.dc;
  }

  ready(): Promise<TlsMaterial> {
    return this.readyPromise;
  }

  /** Called with new material after every leaf or roots change. */
  onChange(fn: (m: TlsMaterial) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private rebuild(): void {
    const leaf = this.leafWatch.value;
    const roots = this.rootsWatch.value;
    if (!leaf || !roots) return;
    const m: TlsMaterial = { certPem: leaf.CertPEM, keyPem: leaf.PrivateKeyPEM, roots: trustedPems(roots), trustDomain: roots.TrustDomain };
    const first = this.current === null;
    this.current = m;
    if (first) this.readyResolve(m);
    for (const fn of this.listeners) fn(m);
  }
}
