/**
 * The agent's leaf certificate cache (Consul's agent/leafcert manager): one
 * entry per service, shared by every caller. The agent makes the key pair
 * and CSR itself (the private key never leaves it) and has a server sign.
 *
 * - A certificate is renewed at a random point between 60% and 90% of its
 *   lifetime (the random source is injected), so a fleet spreads its CSRs.
 * - When the active root changes, every leaf signed by another key is
 *   re-issued after a random delay within the CA-change window (30s), and a
 *   non-blocking read re-issues at once (Consul's MustRevalidate).
 * - A blocking read (`?index=`) waits on the entry's index (the issued
 *   certificate's ModifyIndex, which grows with every certificate) and wakes
 *   on renewal.
 * - A renewal refused by the servers' CSR rate limit keeps the old
 *   certificate and retries at a random point of the next window.
 */
import { type BlockingParams, type CachedReply, RootsCache, waitFor } from "./ca_roots.ts";
import type { Logger } from "./logger.ts";
import { createCsr, exportSec1Pem, generateKeyPair, RateLimitedError, serviceId, spiffeUri } from "../connect/mod.ts";
import { readCert } from "../connect/leaf.ts";
import { defaultOptions, type Rpc } from "../rpc/mod.ts";
import type { Clock } from "../server/clock.ts";
import { type IndexedCARoots, type IssuedCert, issuedCertJson } from "../structs/connect_ca.ts";
import { backoffDelay } from "../util/mod.ts";

/** Consul's caChangeJitterWindow. */
export const CA_CHANGE_JITTER_MS = 30_000;
/** An entry nobody asked for in this long is dropped instead of renewed (Consul's cache TTL for leaves). */
export const LEAF_IDLE_TTL_MS = 72 * 3_600_000;
const RETRY_MIN_MS = 1_000;
const RETRY_MAX_MS = 60_000;

export interface LeafCertsOptions {
  readonly rpc: Rpc;
  readonly datacenter: string;
  readonly clock: Clock;
  /** In [0, 1): picks renewal times and jitters; injected so tests are exact. */
  readonly random: () => number;
  readonly logger?: Logger;
  readonly caChangeJitterMs?: number;
  readonly idleTtlMs?: number;
}

interface Entry {
  readonly service: string;
  cert: IssuedCert | null;
  /** SigningKeyID of the root that signed `cert` (its AuthorityKeyId). */
  authorityKeyId: string;
  index: number;
  issuing: Promise<IssuedCert> | null;
  timer: unknown;
  /** When the timer fires (ms), for choosing the earlier of renewal and rotation. */
  timerAt: number;
  lastGet: number;
  failures: number;
  readonly waiters: Set<() => void>;
}

export class LeafCerts {
  readonly roots: RootsCache;
  private readonly o: LeafCertsOptions;
  private readonly entries = new Map<string, Entry>();
  private readonly offRoots: () => void;
  private stopped = false;
  /** Signing requests sent, for tests and metrics. */
  issued = 0;

  constructor(o: LeafCertsOptions) {
    this.o = o;
    this.roots = new RootsCache({ rpc: o.rpc, datacenter: o.datacenter, clock: o.clock, ...(o.logger ? { logger: o.logger } : {}) });
    this.offRoots = this.roots.onChange((roots) => this.rootsChanged(roots));
  }

  /** `/v1/agent/connect/ca/roots`: the cached roots, blocking on their index. */
  rootsQuery(p: BlockingParams): Promise<CachedReply<IndexedCARoots>> {
    return this.roots.query(p, this.o.random);
  }

  /** `/v1/agent/connect/ca/leaf/:service`: the service's certificate with its private key. */
  async get(service: string, p: BlockingParams): Promise<CachedReply<IssuedCert>> {
    if (this.stopped) throw new Error("agent is shutting down");
    let e = this.entries.get(service);
    if (!e) {
      e = { service, cert: null, authorityKeyId: "", index: 0, issuing: null, timer: null, timerAt: 0, lastGet: 0, failures: 0, waiters: new Set() };
      this.entries.set(service, e);
    }
    e.lastGet = this.o.clock.now();
    let hit = true;
    if (!e.cert) {
      hit = false;
      await this.issue(e, true);
    } else if (p.minIndex <= 0 && (await this.stale(e))) {
      hit = false;
      await this.issue(e, false);
    }
    if (p.minIndex <= 0 || e.index > p.minIndex) return { index: e.index, value: e.cert!, hit, ageMs: 0 };
    const deadline = this.o.clock.now() + waitFor(p.waitMs, this.o.random);
    while (!this.stopped && e.index <= p.minIndex) {
      const left = deadline - this.o.clock.now();
      if (left <= 0 || !(await this.waitChange(e, left))) break;
    }
    return { index: e.index, value: e.cert! };
  }

  /** Services with a cached certificate. */
  get cached(): string[] {
    return [...this.entries.values()].filter((e) => e.cert !== null).map((e) => e.service);
  }

  stop(): void {
    this.stopped = true;
    this.offRoots();
    this.roots.stop();
    for (const e of this.entries.values()) {
      if (e.timer !== null) this.o.clock.clearTimeout(e.timer);
      for (const w of [...e.waiters]) w();
    }
  }

  /** Expired, or signed by a key that is no longer the active root's. */
  private async stale(e: Entry): Promise<boolean> {
    if (Date.parse(e.cert!.ValidBefore) <= this.o.clock.now()) return true;
    const roots = (await this.roots.get()).value;
    const active = roots.Roots.find((r) => r.Active);
    return active !== undefined && active.SigningKeyID !== e.authorityKeyId;
  }

  /** Makes a key and CSR and has it signed; concurrent callers share one request. */
  private issue(e: Entry, firstTime: boolean): Promise<IssuedCert> {
    if (e.issuing) return e.issuing;
    const run = async (): Promise<IssuedCert> => {
      const roots = (await this.roots.get()).value;
      if (roots.TrustDomain === "") throw new Error("cluster has no CA bootstrapped yet");
      const keys = await generateKeyPair();
      const csr = await createCsr({ uri: spiffeUri(serviceId(roots.TrustDomain, this.o.datacenter, e.service)), keys });
      this.issued++;
      const signed = await this.o.rpc.call("ConnectCA.Sign", { CSR: csr }, defaultOptions(this.o.datacenter));
      const info = readCert(signed.CertPEM);
      const cert = issuedCertJson({ ...signed, PrivateKeyPEM: await exportSec1Pem(keys) });
      e.cert = cert;
      e.authorityKeyId = info.authorityKeyId;
      e.index = Math.max(e.index + 1, signed.ModifyIndex);
      e.failures = 0;
      for (const w of [...e.waiters]) w();
      if (!this.stopped) this.scheduleRenewal(e);
      return cert;
    };
    e.issuing = run().finally(() => (e.issuing = null));
    if (!firstTime) {
      // A failed renewal keeps the certificate in hand and tries again later.
      e.issuing.catch((err: unknown) => this.renewalFailed(e, err));
    }
    return e.issuing;
  }

  /** A random point between 60% and 90% of the certificate's lifetime (now, if that has passed). */
  private scheduleRenewal(e: Entry): void {
    const after = Date.parse(e.cert!.ValidAfter);
    const before = Date.parse(e.cert!.ValidBefore);
    const life = before - after;
    const now = this.o.clock.now();
    let at = now;
    if (life >= 10 * 60_000) {
      const hard = after + life * 0.9;
      const soft = Math.max(now, after + life * 0.6);
      at = now >= hard ? now : soft + this.o.random() * (hard - soft);
    }
    this.setTimer(e, at, () => this.renew(e));
  }

  private setTimer(e: Entry, at: number, fn: () => void): void {
    if (e.timer !== null) this.o.clock.clearTimeout(e.timer);
    e.timerAt = at;
    e.timer = this.o.clock.setTimeout(() => {
      e.timer = null;
      if (!this.stopped) fn();
    }, Math.max(0, at - this.o.clock.now()));
  }

  private renew(e: Entry): void {
    if (this.o.clock.now() - e.lastGet > (this.o.idleTtlMs ?? LEAF_IDLE_TTL_MS)) {
      // Nobody has asked for this certificate in a long while: forget it instead of renewing.
      this.entries.delete(e.service);
      for (const w of [...e.waiters]) w();
      return;
    }
    this.issue(e, false).catch(() => {});
  }

  private renewalFailed(e: Entry, err: unknown): void {
    if (this.stopped) return;
    e.failures++;
    const window = this.o.caChangeJitterMs ?? CA_CHANGE_JITTER_MS;
    // Rate limited: retry once in each following window, at a random point of it (Consul's strategy).
    const delay =
      err instanceof RateLimitedError ? (e.failures - 1) * window + this.o.random() * window : backoffDelay(e.failures - 1, { initialMs: RETRY_MIN_MS, maxMs: RETRY_MAX_MS });
    this.o.logger?.warn(`agent: leaf certificate renewal for "${e.service}" failed, retrying in ${Math.round(delay)}ms: ${(err as Error).message}`);
    this.setTimer(e, this.o.clock.now() + delay, () => this.renew(e));
  }

  /** A new active root: every leaf signed by another key is re-issued within the jitter window. */
  private rootsChanged(roots: IndexedCARoots): void {
    const active = roots.Roots.find((r) => r.Active);
    if (!active || this.stopped) return;
    const window = this.o.caChangeJitterMs ?? CA_CHANGE_JITTER_MS;
    const now = this.o.clock.now();
    for (const e of this.entries.values()) {
      if (!e.cert || e.authorityKeyId === active.SigningKeyID) continue;
      const at = now + this.o.random() * window;
      if (e.timer === null || at < e.timerAt) this.setTimer(e, at, () => this.renew(e));
    }
  }

  private waitChange(e: Entry, ms: number): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (changed: boolean) => {
        e.waiters.delete(wake);
        this.o.clock.clearTimeout(timer);
        resolve(changed);
      };
      const wake = () => done(true);
      const timer = this.o.clock.setTimeout(() => done(false), ms);
      e.waiters.add(wake);
    });
  }
}
