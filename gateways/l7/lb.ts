/**
 * Load-balancer policies of a service-resolver's LoadBalancer, as Envoy
 * applies them to one cluster: random, round_robin (the default),
 * least_request (power of ChoiceCount choices), ring_hash (a consistent-hash
 * ring of MinimumRingSize..MaximumRingSize points) and maglev (a 65537-entry
 * lookup table). Hash policies turn a request into a key.
 */
import { hash32 } from "./hash.ts";

export interface LbEndpoint {
  /** Stable identity on the ring ("address:port"). */
  readonly key: string;
  /** Requests in flight (least_request). */
  readonly active: number;
}

export interface LoadBalancerConfig {
  readonly Policy?: string;
  readonly RingHashConfig?: { readonly MinimumRingSize?: number; readonly MaximumRingSize?: number } | null;
  readonly LeastRequestConfig?: { readonly ChoiceCount?: number } | null;
  readonly HashPolicies?: readonly HashPolicy[] | null;
}

export interface HashPolicy {
  readonly Field?: string;
  readonly FieldValue?: string;
  readonly CookieConfig?: { readonly Session?: boolean; readonly TTL?: number | string; readonly Path?: string } | null;
  readonly SourceIP?: boolean;
  readonly Terminal?: boolean;
}

export interface Balancer {
  /** `hash` is the request's key for ring_hash and maglev (null: none, pick at random). */
  pick<E extends LbEndpoint>(endpoints: readonly E[], hash: number | null): E | null;
}

const MAGLEV_SIZE = 65537;

function setKey(endpoints: readonly LbEndpoint[]): string {
  return endpoints.map((e) => e.key).join("\u0000");
}

class RoundRobin implements Balancer {
  private cursor = 0;
  pick<E extends LbEndpoint>(endpoints: readonly E[]): E | null {
    if (endpoints.length === 0) return null;
    const e = endpoints[this.cursor % endpoints.length]!;
    this.cursor = (this.cursor + 1) % 1_000_000_007;
    return e;
  }
}

class Random implements Balancer {
  pick<E extends LbEndpoint>(endpoints: readonly E[]): E | null {
    return endpoints.length === 0 ? null : endpoints[Math.floor(Math.random() * endpoints.length)]!;
  }
}

class LeastRequest implements Balancer {
  private readonly choices: number;
  constructor(choices: number) {
    this.choices = Math.max(2, choices);
  }
  pick<E extends LbEndpoint>(endpoints: readonly E[]): E | null {
    if (endpoints.length === 0) return null;
    let best: E | null = null;
    for (let i = 0; i < this.choices; i++) {
      const e = endpoints[Math.floor(Math.random() * endpoints.length)]!;
      if (best === null || e.active < best.active) best = e;
    }
    return best;
  }
}

/**
 * Ketama-style ring: a key goes to the first point at or after its hash.
 * Every endpoint owns the same number of points (a quarter of
 * MinimumRingSize, within MaximumRingSize in total) whatever the number of
 * endpoints, so adding one only takes keys over to it and never moves a key
 * between the others.
 */
class RingHash implements Balancer {
  private readonly min: number;
  private readonly max: number;
  private built = "";
  private points: Uint32Array = new Uint32Array(0);
  private owners: number[] = [];
  constructor(min: number, max: number) {
    this.min = min || 1024;
    this.max = Math.max(max || 8 * 1024 * 1024, this.min);
  }
  private build(endpoints: readonly LbEndpoint[]): void {
    const perHost = Math.max(1, Math.min(Math.ceil(this.min / 4), Math.floor(this.max / endpoints.length)));
    const entries: [number, number][] = [];
    endpoints.forEach((e, i) => {
      for (let r = 0; r < perHost; r++) entries.push([hash32(`${e.key}_${r}`), i]);
    });
    entries.sort((a, b) => a[0] - b[0]);
    this.points = Uint32Array.from(entries.map((x) => x[0]));
    this.owners = entries.map((x) => x[1]);
  }
  pick<E extends LbEndpoint>(endpoints: readonly E[], hash: number | null): E | null {
    if (endpoints.length === 0) return null;
    const key = setKey(endpoints);
    if (key !== this.built) {
      this.build(endpoints);
      this.built = key;
    }
    const h = hash ?? Math.floor(Math.random() * 0xffffffff);
    let lo = 0;
    let hi = this.points.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    return endpoints[this.owners[lo === this.points.length ? 0 : lo]!]!;
  }
}

/** Maglev (Eisenbud et al. 2016): each endpoint fills table slots in its own permutation order. */
class Maglev implements Balancer {
  private built = "";
  private table: Int32Array = new Int32Array(0);
  private build(endpoints: readonly LbEndpoint[]): void {
    const n = endpoints.length;
    const offset = endpoints.map((e) => hash32(e.key, 0x9e3779b9) % MAGLEV_SIZE);
    const skip = endpoints.map((e) => (hash32(e.key, 0x85ebca6b) % (MAGLEV_SIZE - 1)) + 1);
    const next = new Array<number>(n).fill(0);
    const table = new Int32Array(MAGLEV_SIZE).fill(-1);
    let filled = 0;
    while (filled < MAGLEV_SIZE) {
      for (let i = 0; i < n && filled < MAGLEV_SIZE; i++) {
        let c = (offset[i]! + next[i]! * skip[i]!) % MAGLEV_SIZE;
        while (table[c]! >= 0) {
          next[i]!++;
          c = (offset[i]! + next[i]! * skip[i]!) % MAGLEV_SIZE;
        }
        table[c] = i;
        next[i]!++;
        filled++;
      }
    }
    this.table = table;
  }
  pick<E extends LbEndpoint>(endpoints: readonly E[], hash: number | null): E | null {
    if (endpoints.length === 0) return null;
    const key = setKey(endpoints);
    if (key !== this.built) {
      this.build(endpoints);
      this.built = key;
    }
    const h = hash ?? Math.floor(Math.random() * 0xffffffff);
    return endpoints[this.table[h % MAGLEV_SIZE]!]!;
  }
}

export function makeBalancer(cfg: LoadBalancerConfig | null | undefined): Balancer {
  switch (cfg?.Policy ?? "") {
    case "random":
      return new Random();
    case "least_request":
      return new LeastRequest(cfg?.LeastRequestConfig?.ChoiceCount ?? 2);
    case "ring_hash":
      return new RingHash(cfg?.RingHashConfig?.MinimumRingSize ?? 0, cfg?.RingHashConfig?.MaximumRingSize ?? 0);
    case "maglev":
      return new Maglev();
    default:
      return new RoundRobin();
  }
}

export const isHashPolicy = (cfg: LoadBalancerConfig | null | undefined): boolean => cfg?.Policy === "ring_hash" || cfg?.Policy === "maglev";
