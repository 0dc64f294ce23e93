/**
 * The API gateway controller (a leader duty, Consul's
 * agent/consul/gateways/controller_gateways.go): after any config entry
 * write it recomputes the Status.Conditions of every api-gateway,
 * http-route and tcp-route and writes the ones that changed, each with a
 * check-and-set on the entry's ModifyIndex so a status computed from stale
 * entries is refused and computed again.
 */
import { type Condition, computeGatewayStatuses, nextConditions, statusKey } from "../configentry/gateway_status.ts";
import { arr } from "../configentry/kinds/kind.ts";
import type { Command } from "../state/commands.ts";
import { configLookup, MessageType } from "../state/mod.ts";
import type { StateStore } from "../state/mod.ts";
import type { Clock } from "./clock.ts";

export interface GatewayControllerDeps {
  readonly state: StateStore;
  readonly clock: Clock;
  readonly isLeader: () => boolean;
  readonly write: (cmd: Command) => Promise<{ value?: unknown }>;
}

const CONTROLLED = ["api-gateway", "http-route", "tcp-route"] as const;

export class GatewayController {
  readonly #d: GatewayControllerDeps;
  #scheduled = false;
  #running: Promise<void> | null = null;
  #again = false;
  #stopped = false;

  constructor(deps: GatewayControllerDeps) {
    this.#d = deps;
  }

  /** A config entry changed: reconcile soon (once for a burst of writes). */
  poke(): void {
    if (this.#stopped || this.#scheduled) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#running = this.#reconcile().finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.poke();
        }
      });
    });
  }

  stop(): void {
    this.#stopped = true;
  }

  /** Resolves once no reconcile is running (tests). */
  async idle(): Promise<void> {
    while (this.#running || this.#scheduled) await (this.#running ?? Promise.resolve());
  }

  async #reconcile(): Promise<void> {
    if (this.#stopped || !this.#d.isLeader()) return;
    const t = this.#d.state.t;
    const lookup = configLookup(t);
    const { statuses } = computeGatewayStatuses(lookup);
    const now = new Date(this.#d.clock.now()).toISOString().replace(/\.\d{3}Z$/, "Z");
    for (const kind of CONTROLLED) {
      for (const entry of lookup.list(kind)) {
        const wanted = statuses.get(statusKey(kind, entry.Name)) ?? [];
        const status = entry.Status as { Conditions?: unknown } | undefined;
        const stored = arr(status, "Conditions") as unknown as Condition[];
        const next = nextConditions(stored, wanted, now);
        if (!next) continue;
        const row = t.configEntries.get(`${kind}\u0000${entry.Name}`);
        if (!row) continue;
        try {
          await this.#d.write({
            Type: MessageType.ConfigEntry,
            Now: this.#d.clock.now(),
            Op: "upsert-status-cas",
            Entry: { Kind: kind, Name: entry.Name, Status: { Conditions: next } },
            Index: row.ModifyIndex,
          });
        } catch {
          // Lost leadership or the log is out of reach: the next write or leader retries.
          return;
        }
      }
    }
  }
}
