/** The options of a JetStreamLog, and their defaults and checks. */
import type { NatsConnection } from "@nats-io/transport-node";

export interface JetStreamLogOptions {
  /** An open connection; the log never closes it. */
  readonly nc: NatsConnection;
  readonly datacenter: string;
  /** Stream and object-store replicas. Default 3. */
  readonly replicas?: number;
  /** Entries kept behind a snapshot when the stream is compacted (Consul's raft_trailing_logs). Default 10240. */
  readonly trailingEntries?: number;
  /** The stream's deduplication window. Default 2 minutes. */
  readonly duplicateWindowMs?: number;
  /** How long an append keeps retrying before it fails. Default 15 s. */
  readonly appendTimeoutMs?: number;
  /** One publish or API request. Default 2 s. */
  readonly requestTimeoutMs?: number;
  /**
   * How long appends wait for a lost NATS connection to come back before
   * failing with "No cluster leader" (Consul's RPC hold timeout). Default 3 s.
   */
  readonly holdMs?: number;
  /** Prefix of this writer's message ids; random by default (must be unique per process). */
  readonly writerId?: string;
  /** Publishes awaiting their ack at once; appends beyond wait and leave as one batch. Default 4. */
  readonly maxInFlight?: number;
}

/** The options with every default filled in. */
export type JetStreamLogSettings = Required<Omit<JetStreamLogOptions, "nc" | "datacenter">>;

/** Fills in the defaults; a value out of range is a RangeError naming the option. */
export function jetStreamLogSettings(options: JetStreamLogOptions): JetStreamLogSettings {
  const replicas = positive(options.replicas ?? 3, "replicas");
  const trailingEntries = nonNegative(options.trailingEntries ?? 10_240, "trailingEntries");
  const duplicateWindowMs = positive(options.duplicateWindowMs ?? 120_000, "duplicateWindowMs");
  const appendTimeoutMs = positive(options.appendTimeoutMs ?? 15_000, "appendTimeoutMs");
  const requestTimeoutMs = positive(options.requestTimeoutMs ?? 2_000, "requestTimeoutMs");
  const holdMs = positive(options.holdMs ?? 3_000, "holdMs");
  if (appendTimeoutMs >= duplicateWindowMs) {
    throw new RangeError("JetStreamLog appendTimeoutMs must be shorter than duplicateWindowMs, or a late retry could be stored twice");
  }
  const writerId = options.writerId ?? crypto.randomUUID();
  const maxInFlight = positive(options.maxInFlight ?? 4, "maxInFlight");
  return { replicas, trailingEntries, duplicateWindowMs, appendTimeoutMs, requestTimeoutMs, holdMs, writerId, maxInFlight };
}

function positive(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n <= 0) throw new RangeError(`JetStreamLog option ${what} must be a positive integer, got ${n}`);
  return n;
}

function nonNegative(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`JetStreamLog option ${what} must be a non-negative integer, got ${n}`);
  return n;
}
