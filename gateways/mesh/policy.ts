/**
 * What an inbound endpoint enforces beyond TLS: the intentions naming its
 * service as destination and the service's protocol and MutualTLSMode (from
 * service-defaults and proxy-defaults), each kept current by a blocking query.
 * Until the intentions and defaults are known, connections are refused (fail closed).
 */
import type { Client } from "../../src/api/mod.ts";
import { type ConnectionVerdict, judgeConnection, judgeRequest } from "./authz.ts";
import type { RequestHead } from "./http1.ts";
import { errorText, type MeshLogger, silentLogger } from "./log.ts";
import { type InstanceRateLimits, RateLimiter } from "../l7/rate_limit.ts";
import { splitTarget } from "../l7/request.ts";
import type { RequestDecision } from "./http_relay.ts";
import { type ConfigEntryWire, fetchConfigEntry, fetchIntentions, type IntentionSet, resolveServiceDefaults, type ServiceDefaults } from "./sources.ts";
import type { ServiceIdentity } from "./spiffe.ts";
import { Watch } from "./watch.ts";

export interface InboundPolicyOptions {
  readonly client: Client;
  readonly service: string;
  readonly logger?: MeshLogger;
  /** Protocol from the proxy registration's Config.protocol, used when no config entry says otherwise. */
  readonly fallbackProtocol?: string;
}

export class InboundPolicy {
  readonly service: string;
  private readonly log: MeshLogger;
  private readonly intentionsWatch: Watch<IntentionSet>;
  private readonly serviceDefaultsWatch: Watch<ConfigEntryWire | null>;
  private readonly proxyDefaultsWatch: Watch<ConfigEntryWire | null>;
  private fallbackProtocol: string;
  private rateLimiterKey = "null";
  private rateLimiterEntry: ConfigEntryWire | null | undefined = undefined;
  /** Request verdicts that hold for every request of a source (no L7 permission involved), for `judgedSet`. */
  private readonly sourceVerdicts = new Map<string, RequestDecision>();
  private judgedSet: IntentionSet | null = null;
  private readonly defaultsListeners = new Set<() => void>();
  private limiter: RateLimiter | null = null;

  constructor(o: InboundPolicyOptions) {
    this.service = o.service;
    this.log = o.logger ?? silentLogger;
    this.fallbackProtocol = o.fallbackProtocol ?? "";
    const onError = (what: string) => (err: unknown, failures: number) => {
      if (failures === 1 || failures % 20 === 0) this.log.warn(`${what} watch failed (keeping the last good one): ${errorText(err)}`);
    };
    this.intentionsWatch = new Watch({
      name: "intentions",
      fetch: (p) => fetchIntentions(o.client, o.service, p),
      onUpdate: (set) => this.log.info(`intentions for "${o.service}" loaded: ${set.intentions.length} matching, default ${set.defaultAllow ? "allow" : "deny"}`),
      onError: onError("intentions"),
    });
    this.serviceDefaultsWatch = new Watch({
      name: "service-defaults",
      fetch: (p) => fetchConfigEntry(o.client, "service-defaults", o.service, p),
      onUpdate: () => {
        this.log.info(`service defaults for "${o.service}": protocol ${this.defaults.protocol}, mutual TLS ${this.defaults.mutualTLSMode}`);
        for (const l of this.defaultsListeners) l();
      },
      onError: onError("service-defaults"),
    });
    this.proxyDefaultsWatch = new Watch({
      name: "proxy-defaults",
      fetch: (p) => fetchConfigEntry(o.client, "proxy-defaults", "global", p),
      onUpdate: () => {},
      onError: onError("proxy-defaults"),
    });
  }

  start(): this {
    this.intentionsWatch.start();
    this.serviceDefaultsWatch.start();
    this.proxyDefaultsWatch.start();
    return this;
  }

  async stop(): Promise<void> {
    await Promise.all([this.intentionsWatch.stop(), this.serviceDefaultsWatch.stop(), this.proxyDefaultsWatch.stop()]);
  }

  setFallbackProtocol(protocol: string): void {
    this.fallbackProtocol = protocol;
  }

  /** Resolves once intentions and the service's defaults are known. */
  async ready(): Promise<void> {
    await Promise.all([this.intentionsWatch.ready(), this.serviceDefaultsWatch.ready(), this.proxyDefaultsWatch.ready()]);
  }

  /** Everything a decision needs has arrived at least once. */
  private get loaded(): boolean {
    return this.intentionsWatch.value !== undefined && this.serviceDefaultsWatch.value !== undefined && this.proxyDefaultsWatch.value !== undefined;
  }

  get defaults(): ServiceDefaults {
    const d = resolveServiceDefaults(this.serviceDefaultsWatch.value, this.proxyDefaultsWatch.value);
    const fromEntries = this.serviceDefaultsWatch.value?.Protocol || this.proxyDefaultsWatch.value?.Config?.protocol;
    return fromEntries || !this.fallbackProtocol ? d : { ...d, protocol: this.fallbackProtocol.toLowerCase() };
  }

  /** `MeshGateway.Mode` of the service's service-defaults, else of proxy-defaults ("" when neither sets one). */
  get meshGatewayMode(): string {
    return (this.serviceDefaultsWatch.value?.MeshGateway?.Mode || this.proxyDefaultsWatch.value?.MeshGateway?.Mode || "").toLowerCase();
  }

  /** Calls `listener` whenever the service's service-defaults change; returns the unsubscribe. */
  onServiceDefaults(listener: () => void): () => void {
    this.defaultsListeners.add(listener);
    return () => this.defaultsListeners.delete(listener);
  }

  /**
   * The service-defaults UpstreamConfig layers for one upstream of this
   * service, weakest first: `Defaults`, then the `Overrides` entry naming
   * it (in the default namespace and partition, no peer).
   */
  upstreamConfig(destination: string, namespace = "default"): Record<string, unknown>[] {
    const uc = this.serviceDefaultsWatch.value?.UpstreamConfig;
    if (!uc) return [];
    const ns = (c: Record<string, unknown>) => (typeof c.Namespace === "string" && c.Namespace !== "" ? c.Namespace : "default");
    const override = (uc.Overrides ?? []).find((c) => c.Name === destination && ns(c) === namespace && !c.Peer);
    return [uc.Defaults ?? null, override ?? null].filter((c): c is Record<string, unknown> => c !== null);
  }

  connection(source: ServiceIdentity): ConnectionVerdict {
    const set = this.intentionsWatch.value;
    // Fail closed until the protocol is known too: an http service judged as tcp would skip its L7 checks.
    if (!set || !this.loaded) return { allowed: false, perRequest: false, reason: "intentions and service defaults are not loaded yet" };
    return judgeConnection(set, source, this.service, this.defaults.protocol);
  }

  /** The instance-level rate limiter of the current service-defaults (null when none is configured). */
  private get rateLimiter(): RateLimiter | null {
    const entry = this.serviceDefaultsWatch.value;
    // Judged per request: the limits are looked at again only when the entry is a new one.
    if (entry === this.rateLimiterEntry) return this.limiter;
    this.rateLimiterEntry = entry;
    const rl = entry?.RateLimits?.InstanceLevel ?? null;
    const key = JSON.stringify(rl);
    if (key !== this.rateLimiterKey) {
      this.rateLimiterKey = key;
      const limiter = rl ? new RateLimiter(rl as InstanceRateLimits) : null;
      this.limiter = limiter?.active ? limiter : null;
    }
    return this.limiter;
  }

  request(source: ServiceIdentity, head: RequestHead): RequestDecision {
    return this.limited(this.verdict(source, head, sourceKey(source)), head);
  }

  /**
   * `request` for the requests of one connection (one source): a verdict
   * that holds for every request of the source (no L7 permission involved)
   * is kept on the connection until the intentions change, so such a
   * request costs a comparison and the rate limit; one that an L7
   * permission decides is judged every time.
   */
  requestJudge(source: ServiceIdentity): (head: RequestHead) => RequestDecision {
    const key = sourceKey(source);
    let set: IntentionSet | undefined;
    let kept: RequestDecision | null = null;
    return (head) => {
      const now = this.intentionsWatch.value;
      if (kept === null || now !== set) {
        const d = this.verdict(source, head, key);
        if (now === undefined || this.sourceVerdicts.get(key) !== d) return this.limited(d, head);
        set = now;
        kept = d;
      }
      return this.limited(kept, head);
    };
  }

  /** The intentions' verdict on a request; one that holds for every request of the source is kept per source and intention set. */
  private verdict(source: ServiceIdentity, head: RequestHead, key: string): RequestDecision {
    const set = this.intentionsWatch.value;
    if (!set) return { allowed: false, reason: "intentions are not loaded yet" };
    if (set !== this.judgedSet) {
      this.judgedSet = set;
      this.sourceVerdicts.clear();
    }
    let d: RequestDecision | undefined = this.sourceVerdicts.get(key);
    if (!d) {
      const j = judgeRequest(set, source, this.service, { method: head.method, path: head.target, headers: head.headers });
      d = { allowed: j.allowed, reason: j.reason };
      // Without an L7 permission the answer does not depend on the request: judged once per source and intention set.
      if (!j.perRequest) this.sourceVerdicts.set(key, d);
    }
    return d;
  }

  /** An allowed request past the instance-level rate limit, or the 429 refusal. */
  private limited(d: RequestDecision, head: RequestHead): RequestDecision {
    if (!d.allowed) return d;
    const limiter = this.rateLimiter;
    if (limiter && !limiter.allow(splitTarget(head.target).path)) return { allowed: false, reason: "rate limited (service-defaults RateLimits)", status: 429 };
    return d;
  }
}

const sourceKey = (s: ServiceIdentity): string => `${s.partition}/${s.namespace}/${s.service}`;
