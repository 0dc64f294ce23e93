/**
 * The Connect CA on the servers (Consul's CAManager with the built-in
 * provider). Leader duties: bootstrap the trust domain and first root,
 * rotate roots when the configuration asks for a new one (the old root
 * cross-signs the new), and prune rotated-out roots once every leaf they
 * signed has expired (2 x LeafCertTTL). Any server signs leaves.
 *
 * Keys and certificates are made here, outside apply; the ConnectCA log
 * commands carry them whole, so every replica stores the same bytes. The
 * root private keys live in the replicated state and in this object only.
 */
import { type CAConfigUpdate, type CAHost, CONNECT_NOT_ENABLED, type ConnectOptions, STATE_READ_ONLY } from "./ca_options.ts";

export type { ConnectOptions } from "./ca_options.ts";
import { CsrLimiter } from "./csr_limiter.ts";
import { issuedLeaf, leafIdentity } from "./ca_leaf.ts";
import {
  CAConfigError,
  CAUnavailableError,
  CONSUL_PROVIDER,
  type ConsulCAConfig,
  certInfo,
  crossSignRoot,
  verifySignedBy,
  defaultCAConfigMap,
  importPrivateKeyPem,
  type KeySpec,
  makeRoot,
  parseConsulCAConfig,
  parseSpiffeUri,
  providerId,
  SignRequestError,
  trustDomainFor,
} from "../connect/mod.ts";
import { type Issuer, issueLeaf, issuerOf, readCsr } from "../connect/leaf.ts";
import { ensureTrailingNewline } from "../connect/pem.ts";
import { BadRequestError } from "../rpc/errors.ts";
import { deepEqual } from "../state/equal.ts";
import { caActiveRoot, caConfig, caRoots, type Command, MessageType } from "../state/mod.ts";
import type { CAConfigBody, CAConfigRow, CARootBody, IssuedCert } from "../structs/connect_ca.ts";

interface Signer {
  readonly rootId: string;
  /** The certificate whose key signs leaves: the root, or a secondary's intermediate. */
  readonly cert: string;
  readonly key: CryptoKey;
  readonly spec: KeySpec;
  /** The active root as leaves' issuer (its subject and key ID), read once. */
  readonly issuer: Issuer;
}

async function signerOf(rootId: string, cert: string, key: CryptoKey, spec: KeySpec): Promise<Signer> {
  return { rootId, cert, key, spec, issuer: await issuerOf(cert, key, spec) };
}

export class CAManager {
  private readonly host: CAHost;
  private readonly opts: ConnectOptions;
  private readonly limiter: CsrLimiter;
  /** Bootstrap, reconfiguration and pruning run one at a time. */
  private admin: Promise<unknown> = Promise.resolve();
  private signer: Signer | null = null;
  private parsed: { index: number; config: ConsulCAConfig } | null = null;
  private pruneTimer: unknown = null;
  private retryTimer: unknown = null;
  private running = false;
  /** Why the last bootstrap failed, for logs and tests. */
  lastInitError: Error | null = null;
  /** Whether this is a secondary datacenter's CA (changes when a secondary is promoted). */
  secondary: boolean;

  constructor(host: CAHost, opts: ConnectOptions = {}) {
    this.host = host;
    this.opts = opts;
    this.secondary = opts.secondary ?? false;
    this.limiter = new CsrLimiter(host.clock);
  }

  get enabled(): boolean {
    return this.opts.enabled ?? true;
  }

  /** Leader duty start: bootstrap now (retrying in the background on failure), then prune periodically. */
  async start(): Promise<void> {
    if (!this.enabled || this.running) return;
    this.running = true;
    try {
      await this.initialize();
    } catch (err) {
      this.lastInitError = err as Error;
      this.scheduleInitRetry();
    }
    this.schedulePrune();
  }

  /** Leader duty stop; signing keeps working from state on any server. */
  stop(): void {
    this.running = false;
    if (this.pruneTimer !== null) this.host.clock.clearTimeout(this.pruneTimer);
    if (this.retryTimer !== null) this.host.clock.clearTimeout(this.retryTimer);
    this.pruneTimer = this.retryTimer = null;
  }

  private scheduleInitRetry(): void {
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = null;
      if (!this.running) return;
      this.initialize().then(
        () => (this.lastInitError = null),
        (err: Error) => {
          this.lastInitError = err;
          if (this.running) this.scheduleInitRetry();
        },
      );
    }, this.opts.initRetryMs ?? 5_000);
  }

  private schedulePrune(): void {
    this.pruneTimer = this.host.clock.setTimeout(() => {
      this.pruneTimer = null;
      if (!this.running) return;
      this.pruneRoots().catch(() => {}).finally(() => {
        if (this.running) this.schedulePrune();
      });
    }, this.opts.pruneIntervalMs ?? 3_600_000);
  }

  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.admin.then(fn, fn);
    this.admin = run.catch(() => {});
    return run;
  }

  private async write(cmd: Command): Promise<{ index: number; value: unknown }> {
    const { index, result } = await this.host.writeIndexed(cmd);
    if (!result.ok) throw new CAConfigError(result.error);
    return { index, value: result.value };
  }

  private async nextSerial(): Promise<{ serial: bigint; index: number }> {
    const { index, value } = await this.write({ Type: MessageType.ConnectCA, Now: this.host.clock.now(), Op: "increment-serial" });
    return { serial: BigInt(value as string), index };
  }

  private serialTaker(): () => Promise<bigint> {
    return async () => (await this.nextSerial()).serial;
  }

  private get t() {
    return this.host.state.t;
  }

  /** The trust domain, "" before bootstrap. */
  trustDomain(): string {
    const c = caConfig(this.t).value;
    return c && c.ClusterID !== "" ? trustDomainFor(c.ClusterID) : "";
  }

  /** Bootstraps the CA configuration and first root when the cluster has none (Consul's InitializeCA). */
  initialize(): Promise<void> {
    return this.serialize(async () => {
      if (!this.enabled) return;
      const stored = caConfig(this.t).value;
      const active = caActiveRoot(this.t);
      if (stored && active) {
        if (active.SigningKey !== "") await this.loadSigner();
        return;
      }
      // A secondary waits for the primary's roots.
      if (this.secondary) return;
      const body: CAConfigBody = stored ?? {
        ClusterID: this.opts.clusterId ?? crypto.randomUUID(),
        Provider: CONSUL_PROVIDER,
        Config: { ...defaultCAConfigMap(), ...(this.opts.caConfig ?? {}) },
        State: null,
        ForceWithoutCrossSigning: false,
      };
      const parsed = this.parse(body.Config);
      const made = await makeRoot({ config: parsed, providerId: await providerId(parsed), clusterId: body.ClusterID, serial: this.serialTaker(), nowMs: this.host.clock.now() });
      const existing = caRoots(this.t);
      const roots: CARootBody[] = [...existing.value.map((r) => strip(r)), made.root];
      const { value } = await this.write({ Type: MessageType.ConnectCA, Now: this.host.clock.now(), Op: "set-roots-config", Index: existing.index, Roots: roots, Config: body });
      if (value !== true) throw new CAConfigError("could not atomically update roots and config");
      this.signer = await signerOf(made.root.ID, made.root.RootCert, made.signingKey, made.spec);
    });
  }

  private parse(config: Record<string, unknown>): ConsulCAConfig {
    try {
      return parseConsulCAConfig(config);
    } catch (err) {
      throw new CAConfigError(`error configuring provider: ${(err as Error).message}`);
    }
  }

  /** The configuration in force, parsed once per change. */
  private current(): { row: CAConfigRow; config: ConsulCAConfig } {
    const { index, value } = caConfig(this.t);
    if (!value) throw new CAUnavailableError("CA is uninitialized and unable to sign certificates yet: no root certificate");
    if (!this.parsed || this.parsed.index !== index) this.parsed = { index, config: parseConsulCAConfig({ ...value.Config, SkipValidate: true }) };
    return { row: value, config: this.parsed.config };
  }

  private async loadSigner(): Promise<Signer> {
    const active = caActiveRoot(this.t);
    if (!active) throw new CAUnavailableError("CA is uninitialized and unable to sign certificates yet: no root certificate");
    const signingCert = active.SigningCert ?? active.RootCert;
    if (this.signer?.rootId === active.ID && this.signer.cert === signingCert) return this.signer;
    if (active.SigningKey === "") throw new CAUnavailableError("CA is uninitialized and unable to sign certificates yet: no signing key for this datacenter");
    const imported = await importPrivateKeyPem(active.SigningKey);
    this.signer = await signerOf(active.ID, signingCert, imported.privateKey, imported.spec);
    return this.signer;
  }

  /**
   * Signs a secondary datacenter's CA certificate with the active root
   * (Consul's ConnectCA.SignIntermediate): the answer is an intermediate
   * with the secondary's subject and key, issued by this root. The request
   * must be a self-signed CA certificate (proof that the secondary holds
   * its key) naming this trust domain.
   */
  signIntermediate(caPem: string): Promise<string> {
    if (!this.enabled) return Promise.reject(new CAUnavailableError(CONNECT_NOT_ENABLED));
    return this.serialize(async () => {
      if (this.secondary) throw new CAUnavailableError("Only the primary datacenter signs intermediates");
      const td = this.trustDomain();
      let info: { uris: readonly string[]; isCA: boolean };
      try {
        info = await certInfo(caPem);
      } catch (err) {
        throw new BadRequestError(`Invalid intermediate request: ${(err as Error).message}`);
      }
      if (!(await verifySignedBy(caPem, caPem).catch(() => false))) throw new BadRequestError("Invalid intermediate request: the certificate is not self-signed by its key");
      if (!info.isCA) throw new BadRequestError("Invalid intermediate request: not a CA certificate");
      if (td === "" || !info.uris.some((u) => u.toLowerCase().startsWith(`spiffe://${td}`))) throw new BadRequestError(`Invalid intermediate request: not a CA of trust domain ${td}`);
      const signer = await this.loadSigner();
      const active = caActiveRoot(this.t)!;
      // Issued by whatever signs here: the root in the first primary, the intermediate in a promoted secondary.
      return crossSignRoot({ newRootPem: caPem, oldRootPem: active.SigningCert ?? active.RootCert, oldKey: signer.key, oldSpec: signer.spec, serial: (await this.nextSerial()).serial, nowMs: this.host.clock.now() });
    });
  }

  /**
   * A secondary stores the primary's roots and configuration, with its own
   * signing key and intermediate on the active root (federation/ calls this
   * on the secondary's leader). One command, checked against the roots index.
   */
  installFromPrimary(roots: CARootBody[], config: CAConfigBody): Promise<void> {
    return this.serialize(async () => {
      const existing = caRoots(this.t);
      const { value } = await this.write({ Type: MessageType.ConnectCA, Now: this.host.clock.now(), Op: "set-roots-config", Index: existing.index, Roots: roots, Config: config });
      if (value !== true) throw new CAConfigError("could not atomically update roots and config");
      this.signer = null;
      await this.loadSigner().catch(() => {});
    });
  }

  /**
   * Applies a new CA configuration (Consul's ConfigurationSet): a change that
   * keeps the provider's key material only updates the config; one that
   * changes it makes a new root, cross-signed by the current one unless
   * ForceWithoutCrossSigning, and both are stored in one command.
   */
  updateConfiguration(update: CAConfigUpdate): Promise<void> {
    if (!this.enabled) return Promise.reject(new CAUnavailableError(CONNECT_NOT_ENABLED));
    return this.serialize(async () => {
      const stored = caConfig(this.t).value;
      if (!stored) throw new CAUnavailableError("CA is not initialized yet");
      if (update.State && Object.keys(update.State).length > 0 && !deepEqual(update.State, stored.State)) throw new BadRequestError(STATE_READ_ONLY);
      if (update.Provider !== CONSUL_PROVIDER) {
        throw new CAConfigError(`could not initialize provider: unknown CA provider ${JSON.stringify(update.Provider)}`);
      }
      if (update.Provider === stored.Provider && deepEqual(update.Config, stored.Config)) return;
      const parsed = this.parse(update.Config);
      const body: CAConfigBody = {
        ClusterID: stored.ClusterID,
        Provider: update.Provider,
        Config: update.Config,
        State: stored.State,
        ForceWithoutCrossSigning: update.ForceWithoutCrossSigning,
      };
      const id = await providerId(parsed);
      const active = caActiveRoot(this.t);
      const now = () => this.host.clock.now();
      if (active && active.ProviderID === id) {
        await this.write({ Type: MessageType.ConnectCA, Now: now(), Op: "set-config", Config: body });
        return;
      }
      const made = await makeRoot({ config: parsed, providerId: id, clusterId: stored.ClusterID, serial: this.serialTaker(), nowMs: now() });
      if (active && active.ID === made.root.ID) {
        await this.write({ Type: MessageType.ConnectCA, Now: now(), Op: "set-config", Config: body });
        return;
      }
      let root = made.root;
      if (active && !update.ForceWithoutCrossSigning) {
        const old = await this.loadSigner();
        const xc = await crossSignRoot({ newRootPem: root.RootCert, oldRootPem: old.cert, oldKey: old.key, oldSpec: old.spec, serial: (await this.nextSerial()).serial, nowMs: now() });
        root = { ...root, IntermediateCerts: [xc] };
      }
      const existing = caRoots(this.t);
      const roots: CARootBody[] = existing.value.map((r) => (r.Active ? { ...strip(r), Active: false, RotatedOutAt: now() } : strip(r)));
      roots.push(root);
      const { value } = await this.write({ Type: MessageType.ConnectCA, Now: now(), Op: "set-roots-config", Index: existing.index, Roots: roots, Config: body });
      if (value !== true) throw new CAConfigError("could not atomically update roots and config");
      this.signer = await signerOf(root.ID, root.RootCert, made.signingKey, made.spec);
    });
  }

  /** Drops roots rotated out more than 2 x LeafCertTTL ago: no leaf they signed is still valid. */
  pruneRoots(): Promise<number> {
    return this.serialize(async () => {
      const { index, value } = caRoots(this.t);
      const stored = caConfig(this.t).value;
      if (!stored) return 0;
      const leafTtl = this.current().config.leafCertTtlMs;
      const now = this.host.clock.now();
      const keep = value.filter((r) => r.Active || r.RotatedOutAt === 0 || now - r.RotatedOutAt <= 2 * leafTtl);
      if (keep.length === value.length) return 0;
      const { value: ok } = await this.write({ Type: MessageType.ConnectCA, Now: now, Op: "set-roots", Index: index, Roots: keep.map(strip) });
      return ok === true ? value.length - keep.length : 0;
    });
  }

  /**
   * Signs a leaf CSR (Consul's ConnectCA.Sign / CAManager.SignCertificate):
   * the SPIFFE ID must be a service, mesh gateway or agent of this trust
   * domain and datacenter; the request is rate limited; the answer carries
   * the certificate followed by the active root's intermediates.
   */
  async sign(csrPem: string): Promise<IssuedCert> {
    if (!this.enabled) throw new CAUnavailableError(CONNECT_NOT_ENABLED);
    const csr = await readCsr(csrPem);
    if (csr.uris.length === 0) throw new SignRequestError("CSR SAN does not contain a SPIFFE ID");
    const asked = parseSpiffeUri(csr.uris[0]!);
    const { row, config } = this.current();
    const { id, uris } = leafIdentity(asked, csr.uris, trustDomainFor(row.ClusterID), this.host.datacenter);
    const release = await this.limiter.acquire({ perSecond: config.csrMaxPerSecond, maxConcurrent: config.csrMaxConcurrent });
    try {
      const signer = await this.loadSigner();
      const active = caActiveRoot(this.t);
      if (!active || active.ID !== signer.rootId) throw new CAUnavailableError("CA root changed while signing; try again");
      const now = this.host.clock.now();
      if (Date.parse(active.NotAfter) < now) throw new SignRequestError(`root expired: certificate expired, expiration date: ${active.NotAfter}`);
      const { serial, index } = await this.nextSerial();
      const leaf = await issueLeaf(signer.issuer, { spki: csr.spki, uris, dnsNames: csr.dnsNames, ipAddresses: csr.ipAddresses, serial, nowMs: now, ttlMs: config.leafCertTtlMs });
      let pem = leaf.pem;
      for (const inter of active.IntermediateCerts) pem += ensureTrailingNewline(inter);
      return issuedLeaf(id, uris[0]!, { serial, pem, notBefore: leaf.notBefore, notAfter: leaf.notAfter, index });
    } finally {
      release();
    }
  }
}

function strip(r: CARootBody & { CreateIndex?: number; ModifyIndex?: number }): CARootBody {
  const { CreateIndex: _c, ModifyIndex: _m, ...rest } = r;
  return rest;
}
