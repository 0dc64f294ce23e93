/**
 * What a read waits for before it runs, by its consistency mode, and the
 * X-Consul-KnownLeader / X-Consul-LastContact it reports. A single server
 * reads at once; a server of a cluster first catches up with the shared log.
 */
import { LogUnavailableError } from "../log/errors.ts";
import type { Log } from "../log/log.ts";
import type { RequestOptions } from "../rpc/types.ts";
import type { Clock } from "./clock.ts";
import type { ClusterRole } from "./cluster_role.ts";
import { ApplyError } from "./errors.ts";

export interface ReadGateOptions {
  readonly cluster: ClusterRole | null;
  readonly log: Log;
  readonly clock: Clock;
  readonly stopped: () => boolean;
  readonly isLeader: () => boolean;
  /** Appends a barrier and resolves once it is applied here. */
  readonly barrier: () => Promise<unknown>;
}

export class ReadGate {
  readonly #o: ReadGateOptions;

  constructor(options: ReadGateOptions) {
    this.#o = options;
  }

  /**
   * What a read with these options waits for before it runs: null when it
   * can run at once (a single server; `stale` within `max_stale`). Default
   * reads wait until this replica has applied everything committed when
   * they arrived; `consistent` reads append a barrier and wait for it.
   * Rejects with ApplyError("No cluster leader") when the log is out of reach.
   */
  wait(opts: RequestOptions): Promise<void> | null {
    const { cluster, log, stopped, barrier } = this.#o;
    if (!cluster || stopped()) return null;
    if (opts.consistency === "stale" && (opts.maxStaleMs <= 0 || this.lastContactMs() <= opts.maxStaleMs)) return null;
    if (opts.consistency === "consistent") return barrier().then(() => undefined);
    return (log.sync?.() ?? Promise.resolve()).catch((err: unknown) => {
      throw err instanceof LogUnavailableError ? new ApplyError(err.message, { cause: err }) : err;
    });
  }

  /** X-Consul-KnownLeader and X-Consul-LastContact for a read (absent fields: a single server). */
  meta(opts: RequestOptions): { knownLeader?: boolean; lastContact?: number } {
    const { cluster, isLeader } = this.#o;
    if (!cluster) return {};
    const knownLeader = cluster.leader() !== null;
    // Default and consistent reads have just heard from the log.
    return { knownLeader, lastContact: opts.consistency === "stale" && !isLeader() ? this.lastContactMs() : 0 };
  }

  /** Milliseconds since this server last heard from the cluster (0 for a single server). */
  lastContactMs(): number {
    const { cluster, clock } = this.#o;
    if (!cluster) return 0;
    return Math.max(0, clock.now() - cluster.lastContact());
  }
}
