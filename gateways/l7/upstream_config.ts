/**
 * The resilience settings of one upstream, from an upstream's opaque
 * `Config` in the proxy registration or a service-defaults UpstreamConfig
 * (Consul's ParseUpstreamConfig): `connect_timeout_ms`, `limits`,
 * `passive_health_check`, `protocol` and `balance_outbound_connections`,
 * in snake_case or Go spelling, layered weakest first.
 */
import { field, isObject } from "../../src/structs/json.ts";
import { parseGoDuration } from "../../src/structs/duration.ts";
import type { LimitsConfig } from "./limits.ts";
import type { PassiveHealthCheckConfig } from "./outlier.ts";

export interface UpstreamSettings {
  readonly connectTimeoutMs: number;
  readonly limits: LimitsConfig | null;
  readonly passiveHealthCheck: PassiveHealthCheckConfig | null;
  readonly protocol: string;
  /** "exact_balance" or "": Envoy spreads accepted connections over its worker threads by it; one event loop accepts them all here, so it changes nothing. */
  readonly balanceOutboundConnections: string;
}

function num(o: Record<string, unknown>, name: string, alias: string): number | undefined {
  const v = field(o, name, alias);
  if (typeof v === "number" && Number.isFinite(v)) return v;
  if (typeof v === "string" && /^\d+$/.test(v)) return Number(v);
  return undefined;
}

/** A duration in ms from Go text or nanoseconds. */
function dur(o: Record<string, unknown>, name: string, alias: string): number | undefined {
  const v = field(o, name, alias);
  if (typeof v === "number" && Number.isFinite(v)) return v / 1e6;
  if (typeof v === "string") return parseGoDuration(v) ?? undefined;
  return undefined;
}

function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function parseUpstreamSettings(...layers: (Record<string, unknown> | null | undefined)[]): UpstreamSettings {
  let connectTimeoutMs = 0;
  let limits: LimitsConfig | null = null;
  let phc: PassiveHealthCheckConfig | null = null;
  let protocol = "";
  let balance = "";
  // Later layers win, as an upstream's own Config wins over service-defaults.
  for (const c of layers) {
    if (!c) continue;
    connectTimeoutMs = num(c, "ConnectTimeoutMs", "connect_timeout_ms") ?? connectTimeoutMs;
    const p = field(c, "Protocol", "protocol");
    if (typeof p === "string" && p !== "") protocol = p.toLowerCase();
    const b = field(c, "BalanceOutboundConnections", "balance_outbound_connections");
    if (typeof b === "string" && b !== "") balance = b;
    const l = field(c, "Limits", "limits");
    if (isObject(l)) {
      limits = {
        ...(limits ?? {}),
        ...defined({
          maxConnections: num(l, "MaxConnections", "max_connections"),
          maxPendingRequests: num(l, "MaxPendingRequests", "max_pending_requests"),
          maxConcurrentRequests: num(l, "MaxConcurrentRequests", "max_concurrent_requests"),
        }),
      };
    }
    const h = field(c, "PassiveHealthCheck", "passive_health_check");
    if (isObject(h)) {
      phc = {
        ...(phc ?? {}),
        ...defined({
          intervalMs: dur(h, "Interval", "interval"),
          maxFailures: num(h, "MaxFailures", "max_failures"),
          enforcingConsecutive5xx: num(h, "EnforcingConsecutive5xx", "enforcing_consecutive_5xx"),
          maxEjectionPercent: num(h, "MaxEjectionPercent", "max_ejection_percent"),
          baseEjectionTimeMs: dur(h, "BaseEjectionTime", "base_ejection_time"),
        }),
      };
    }
  }
  return { connectTimeoutMs, limits, passiveHealthCheck: phc, protocol, balanceOutboundConnections: balance };
}
