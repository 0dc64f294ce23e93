/**
 * The targets a chain's compilation loads (Consul's loadedTargets): one per
 * service + subset + namespace + partition + datacenter (or peer), made once
 * and shared; only those a resolver node keeps remain in the chain.
 */
import { type DiscoveryTarget, targetId, type TargetOpts, targetSni } from "./types.ts";

/** Where the chain is compiled: what a target leaves unset defaults to. */
export interface TargetScope {
  readonly namespace: string;
  readonly partition: string;
  readonly datacenter: string;
  readonly trustDomain: string;
}

export class ChainTargets {
  readonly #scope: TargetScope;
  readonly #loaded = new Map<string, DiscoveryTarget>();
  readonly #retained = new Set<string>();

  constructor(scope: TargetScope) {
    this.#scope = scope;
  }

  get(id: string): DiscoveryTarget | undefined {
    return this.#loaded.get(id);
  }

  /** The target for these options, made on first use. */
  make(opts: TargetOpts): DiscoveryTarget {
    const { namespace, partition, datacenter, trustDomain } = this.#scope;
    const peer = opts.Peer ?? "";
    const full: Required<TargetOpts> =
      peer === ""
        ? {
            Service: opts.Service,
            ServiceSubset: opts.ServiceSubset ?? "",
            Namespace: opts.Namespace || namespace,
            Partition: opts.Partition || partition,
            Datacenter: opts.Datacenter || datacenter,
            Peer: "",
          }
        : { Service: opts.Service, ServiceSubset: opts.ServiceSubset ?? "", Namespace: opts.Namespace || "default", Partition: "default", Datacenter: "", Peer: peer };
    const id = targetId(full);
    const prev = this.#loaded.get(id);
    if (prev) return prev;
    const sni = peer === "" ? targetSni(full, trustDomain) : "";
    const t: DiscoveryTarget = {
      ID: id,
      ...full,
      MeshGateway: { Mode: "" },
      Subset: {},
      TransparentProxy: { DialedDirectly: false },
      ConnectTimeout: 0,
      External: false,
      SNI: sni,
      Name: sni,
    };
    this.#loaded.set(id, t);
    return t;
  }

  /** `t` with the fields a redirect or failover names replaced (another service drops the subset). */
  rewrite(t: DiscoveryTarget, opts: Partial<TargetOpts>): DiscoveryTarget {
    const m = { Service: t.Service, ServiceSubset: t.ServiceSubset, Namespace: t.Namespace, Partition: t.Partition, Datacenter: t.Datacenter, Peer: t.Peer };
    if (opts.Service && opts.Service !== m.Service) {
      m.Service = opts.Service;
      m.ServiceSubset = "";
    }
    if (opts.ServiceSubset) m.ServiceSubset = opts.ServiceSubset;
    if (opts.Partition) m.Partition = opts.Partition;
    if (opts.Namespace || opts.Peer) m.Namespace = opts.Namespace ?? "";
    if (opts.Datacenter) m.Datacenter = opts.Datacenter;
    m.Peer = opts.Peer ?? "";
    return this.make(m);
  }

  /** Keeps a target in the chain (a resolver node ends in it). */
  retain(id: string): void {
    this.#retained.add(id);
  }

  /** The retained targets by ID, in the order they were made. */
  retained(): Record<string, DiscoveryTarget> {
    return Object.fromEntries([...this.#loaded].filter(([id]) => this.#retained.has(id)));
  }
}
