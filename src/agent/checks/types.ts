/** The contract between check runners and the agent that owns them. */
import type { Clock } from "../../server/clock.ts";
import type { Logger } from "../logger.ts";
import type { CheckKind } from "./validate.ts";

export type CheckStatus = "passing" | "warning" | "critical";

export interface CheckUpdate {
  status: CheckStatus;
  output: string;
}

/** What a runner needs from its surroundings; injected so tests control time and randomness. */
export interface RunnerEnv {
  clock: Clock;
  /** A number in [0, 1): picks the first probe's stagger within the interval. */
  random(): number;
  /** Receives every status the check reports (after thresholds). */
  onUpdate(update: CheckUpdate): void;
  /** The agent's `check_output_max_size` (default 4096); a smaller per-check OutputMaxSize wins. */
  outputMaxSize?: number;
  /** Shortest probe interval allowed (default Consul's MinInterval, 1s); shorter ones are raised to it. */
  minIntervalMs?: number;
  logger?: Logger;
}

export interface CheckRunner {
  readonly kind: CheckKind;
  /** Begins probing (or, for TTL checks, the expiry timer). Starting a running check does nothing. */
  start(): void;
  /** Stops all timers and in-flight probes; nothing is reported after it returns. */
  stop(): void;
  /** The latest status reported, starting from the definition's initial Status. */
  readonly status: CheckStatus;
  readonly output: string;
  /**
   * Clock time at which the check last became critical, or null while it is
   * not critical; the agent reaps services with DeregisterCriticalServiceAfter
   * from this.
   */
  readonly criticalSince: number | null;
}

/** Consul's MinInterval. */
export const MIN_INTERVAL_MS = 1000;
/** Consul's DefaultBufSize for captured output. */
export const DEFAULT_OUTPUT_MAX_SIZE = 4096;
/** Default probe timeout for HTTP, TCP, UDP, gRPC and H2PING checks. */
export const DEFAULT_TIMEOUT_MS = 10_000;
/** Default timeout for script checks. */
export const DEFAULT_SCRIPT_TIMEOUT_MS = 30_000;
