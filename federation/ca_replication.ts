/**
 * The Connect CA of a secondary datacenter (Consul's secondary CA
 * initialization and roots watch): its leader keeps a blocking
 * `ConnectCA.Roots` open on the primary; whenever the primary's roots
 * change it stores them (one trust domain, the same roots served in every
 * datacenter), and when the primary's active root is new it makes a key and
 * a self-signed CA certificate and has the primary sign it into an
 * intermediate (`ConnectCA.SignIntermediate`). That intermediate signs the
 * secondary's leaves, so a leaf from any datacenter verifies against the
 * roots any datacenter serves, and a root rotation in the primary reaches
 * every secondary with a fresh intermediate.
 */
import { makeRoot, parseConsulCAConfig } from "../src/connect/mod.ts";
import type { Rpc } from "../src/rpc/types.ts";
import type { Server } from "../src/server/server.ts";
import { caActiveRoot } from "../src/state/mod.ts";
import type { CAConfigBody, CARootBody, CARootJson, IndexedCARoots } from "../src/structs/connect_ca.ts";
import { ReplicationLoop, type ReplicationLog } from "../src/server/replication_loop.ts";

const WAIT_MS = 60_000;

export interface CAReplicatorOptions {
  readonly server: Server;
  readonly rpc: Rpc;
  readonly primary: () => string;
  readonly log?: ReplicationLog;
}

export interface CAReplicationStatus {
  /** The primary's roots index last installed. */
  readonly RootsIndex: number;
  /** The primary root our intermediate is signed by ("" until one is). */
  readonly ActiveRootID: string;
  readonly Intermediates: number;
  readonly LastError: string;
}

export class CAReplicator extends ReplicationLoop {
  private readonly o: CAReplicatorOptions;
  private index = 0;
  private intermediates = 0;
  private lastError = "";

  constructor(o: CAReplicatorOptions) {
    super("connect: secondary CA round", o.log);
    this.o = o;
  }

  override start(): void {
    if (this.o.server.ca.enabled) super.start();
  }

  /** Forgets the roots index (the primary changed): the next round installs the new primary's roots. */
  reset(): void {
    this.index = 0;
    this.interrupt();
  }

  status(): CAReplicationStatus {
    return { RootsIndex: this.index, ActiveRootID: caActiveRoot(this.o.server.state.t)?.ID ?? "", Intermediates: this.intermediates, LastError: this.lastError };
  }

  protected source(): string | null {
    const primary = this.o.primary();
    return primary === this.o.server.config.datacenter ? null : primary;
  }

  protected async replicate(primary: string, signal: AbortSignal): Promise<void> {
    const opts = { datacenter: primary, minIndex: this.index === 0 ? 0 : Math.max(1, this.index), waitMs: WAIT_MS, consistency: "default" as const, maxStaleMs: 0, signal };
    const reply = await this.o.rpc.call("ConnectCA.Roots", {}, opts);
    if (!this.running) return;
    if (reply.index !== this.index || this.needsIntermediate(reply.value)) await this.install(primary, reply.value);
    this.index = reply.index;
    this.lastError = "";
  }

  protected failed(message: string): void {
    this.lastError = message;
  }

  private needsIntermediate(roots: IndexedCARoots): boolean {
    const local = caActiveRoot(this.o.server.state.t);
    return roots.ActiveRootID !== "" && (!local || local.ID !== roots.ActiveRootID || !local.SigningCert || local.SigningKey === "");
  }

  private async install(primary: string, roots: IndexedCARoots): Promise<void> {
    const active = roots.Roots.find((r) => r.ID === roots.ActiveRootID);
    if (!active || roots.TrustDomain === "") return; // The primary has no CA yet.
    const server = this.o.server;
    const cfg = (await this.o.rpc.call("ConnectCA.ConfigurationGet", {}, { datacenter: primary, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0 })).value;
    const clusterId = roots.TrustDomain.replace(/\.consul$/, "");
    let signingKey: string;
    let signingCert: string;
    const local = caActiveRoot(server.state.t);
    if (this.needsIntermediate(roots)) {
      const parsed = parseConsulCAConfig({ ...cfg.Config, PrivateKey: "", RootCert: "", SkipValidate: true });
      const made = await makeRoot({ config: parsed, providerId: `secondary:${server.config.datacenter}`, clusterId, serial: async () => randomSerial(), nowMs: server.clock.now() });
      signingCert = await this.o.rpc.call("ConnectCA.SignIntermediate", { CSR: made.root.RootCert }, { datacenter: primary, minIndex: 0, waitMs: 0, consistency: "default", maxStaleMs: 0 });
      signingKey = made.root.SigningKey;
      this.intermediates++;
      this.o.log?.("info", `connect: intermediate for ${server.config.datacenter} signed by ${primary}'s root ${active.ID}`);
    } else {
      signingKey = local!.SigningKey;
      signingCert = local!.SigningCert!;
    }
    const body = roots.Roots.map((r) => rootBody(r, r.ID === active.ID ? { signingKey, signingCert } : null));
    const config: CAConfigBody = { ClusterID: clusterId, Provider: cfg.Provider, Config: cfg.Config, State: null, ForceWithoutCrossSigning: cfg.ForceWithoutCrossSigning };
    await server.ca.installFromPrimary(body, config);
  }
}

function rootBody(r: CARootJson, signing: { signingKey: string; signingCert: string } | null): CARootBody {
  const intermediates = r.IntermediateCerts ?? [];
  return {
    ID: r.ID,
    Name: r.Name,
    SerialNumber: String(r.SerialNumber),
    SigningKeyID: r.SigningKeyID,
    ExternalTrustDomain: r.ExternalTrustDomain,
    NotBefore: r.NotBefore,
    NotAfter: r.NotAfter,
    RootCert: r.RootCert,
    IntermediateCerts: signing ? [signing.signingCert, ...intermediates] : [...intermediates],
    Active: r.Active,
    RotatedOutAt: 0,
    PrivateKeyType: r.PrivateKeyType,
    PrivateKeyBits: r.PrivateKeyBits,
    SigningKey: signing?.signingKey ?? "",
    ProviderID: "",
    ...(signing ? { SigningCert: signing.signingCert } : {}),
  };
}

function randomSerial(): bigint {
  const b = crypto.getRandomValues(new Uint8Array(8));
  b[0]! &= 0x7f;
  return BigInt(`0x${[...b].map((x) => x.toString(16).padStart(2, "0")).join("")}`);
}
