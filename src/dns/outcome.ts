/**
 * What answering one name produces (an Outcome), the dependencies every
 * answer maker shares, and the small helpers they have in common. The answer
 * makers are split by query form: service answers (service_answer.ts), node,
 * PTR and NS answers (node_answer.ts), and the dispatcher (answer.ts).
 */
import type { DnsConfig } from "./config.ts";
import type { DnsLookup } from "./lookup.ts";
import type { Rr } from "./message.ts";
import type { ServiceReplay } from "./service_answer.ts";

/** Upper bound on internal CNAME chasing (maxRecursionLevelDefault). */
export const MAX_RECURSION_LEVEL = 3;
/** Records kept from a CNAME chase when the client did not send EDNS (maxRecurseRecords). */
export const MAX_RECURSE_RECORDS = 5;

export type Outcome =
  | { readonly kind: "answer"; readonly answer: Rr[]; readonly authority: Rr[]; readonly additional: Rr[]; readonly ecsGlobal: boolean }
  | { readonly kind: "nxdomain" | "nodata"; readonly ecsGlobal: boolean }
  | { readonly kind: "recurse" };

/** Per-request memory of names resolved through the recursors. */
export interface Resolution {
  readonly external: Map<string, readonly Rr[]>;
  readonly pending: Set<string>;
}

export interface BuilderDeps {
  readonly config: DnsConfig;
  readonly lookup: DnsLookup;
  readonly random: () => number;
  readonly sourceIp: string;
  readonly edns: boolean;
  /**
   * More answers than the transport can carry after trimming (trim.ts), plus
   * one so trimming still sees that some were left out; dealing can stop there.
   */
  readonly maxAnswers?: number;
  readonly resolution: Resolution;
  /** Set when the answer may be cached: what it was built from. */
  readonly recorder?: AnswerRecorder;
}

/**
 * What the answer cache needs to know about one request: how many service
 * answers it built, and the top-level one as a replay when it can be dealt
 * again without this request (answer_cache.ts).
 */
export interface AnswerRecorder {
  services: number;
  replay: ServiceReplay | null;
}

/** Follows a hostname to its records: our own names here, others through the recursors. */
export interface CnameResolver {
  resolveCname(name: string, level: number): readonly Rr[];
}

export const NXDOMAIN: Outcome = { kind: "nxdomain", ecsGlobal: true };
export const NODATA: Outcome = { kind: "nodata", ecsGlobal: true };

export function answer(ans: Rr[], add: Rr[] = [], auth: Rr[] = [], ecsGlobal = true): Outcome {
  if (ans.length === 0 && add.length === 0 && auth.length === 0) return ecsGlobal ? NODATA : { kind: "nodata", ecsGlobal };
  return { kind: "answer", answer: ans, authority: auth, additional: add, ecsGlobal };
}

/** Fisher-Yates over the injected random source, in place. */
export function shuffle<T>(list: T[], random: () => number): T[] {
  for (let i = list.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = list[i]!;
    list[i] = list[j]!;
    list[j] = tmp;
  }
  return list;
}

export function fqdnOf(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

export function nodeFqdn(dc: string, node: string, respDomain: string): string {
  return `${node}.node.${dc}.${respDomain}`;
}
