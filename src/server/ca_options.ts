/** What the Connect CA on the servers takes: its host, its options, a configuration change, and its fixed answers. */
import type { Clock } from "./clock.ts";
import type { ApplyResult, Command, StateStore } from "../state/mod.ts";

/** What the CA needs from its server. */
export interface CAHost {
  readonly state: StateStore;
  readonly clock: Clock;
  readonly datacenter: string;
  /** Appends a command; answers its log index and what apply decided. */
  writeIndexed(cmd: Command): Promise<{ index: number; result: ApplyResult }>;
}

export interface ConnectOptions {
  /** Consul's connect.enabled; on by default, as for servers since Consul 1.17. */
  readonly enabled?: boolean;
  /** Initial provider config (connect.ca_config), stored when a cluster bootstraps. */
  readonly caConfig?: Record<string, unknown>;
  /** A fixed cluster ID (Consul allows it for tests); otherwise a random UUID at bootstrap. */
  readonly clusterId?: string;
  /** How often rotated-out roots are checked for pruning (Consul: 1h). */
  readonly pruneIntervalMs?: number;
  /** Retry delay of a failed bootstrap. */
  readonly initRetryMs?: number;
  /**
   * A secondary datacenter's CA: it never bootstraps a root of its own; its
   * roots, trust domain and signing intermediate come from the primary
   * (federation/ installs them with `installFromPrimary`).
   */
  readonly secondary?: boolean;
}

/** A configuration change as PUT /v1/connect/ca/configuration sends it. */
export interface CAConfigUpdate {
  readonly Provider: string;
  readonly Config: Record<string, unknown>;
  readonly State: Record<string, string> | null;
  readonly ForceWithoutCrossSigning: boolean;
}

export const CONNECT_NOT_ENABLED = "Connect must be enabled in order to use this endpoint";
/** Consul's HTTP text for structs.ErrStateReadOnly. */
export const STATE_READ_ONLY = "Provider State is read-only. It must be omitted or identical to the current value";
