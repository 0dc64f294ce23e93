/**
 * Shared pieces of the agent-local endpoints: the local agent itself, the
 * wire shapes of its services and checks (Consul's api.AgentService and
 * structs.HealthCheck), content hashes and blocking on local state.
 */
import { HttpError } from "./errors.ts";
import type { ApiContext } from "./context.ts";
import type { Agent } from "../agent/agent.ts";
import type { CheckDef, ServiceDef } from "../agent/local_state.ts";
import { effectiveWait } from "../server/mod.ts";
import type { WatchHub } from "../state/watch.ts";
import { checkRow } from "../state/mod.ts";

export function localAgent(api: ApiContext): Agent {
  if (!api.localAgent) throw new HttpError(500, "Agent-local state is not available on this HTTP server");
  return api.localAgent;
}

const PROXY_KINDS = new Set(["connect-proxy", "mesh-gateway", "terminating-gateway", "ingress-gateway", "api-gateway"]);

/** Consul's buildAgentService: empty Tags/Meta as [] and {}, Proxy only for proxies and gateways. */
export function agentServiceJson(s: ServiceDef, datacenter: string, contentHash?: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (s.Kind !== "") out.Kind = s.Kind;
  out.ID = s.ID;
  out.Service = s.Service;
  out.Tags = s.Tags ?? [];
  out.Meta = s.Meta ?? {};
  out.Port = s.Port;
  out.Address = s.Address;
  if (s.SocketPath !== "") out.SocketPath = s.SocketPath;
  if (Object.keys(s.TaggedAddresses ?? {}).length > 0) out.TaggedAddresses = s.TaggedAddresses;
  out.Weights = { Passing: s.Weights.Passing > 0 ? s.Weights.Passing : 1, Warning: s.Weights.Warning };
  out.EnableTagOverride = s.EnableTagOverride;
  if (contentHash !== undefined) out.ContentHash = contentHash;
  if (PROXY_KINDS.has(s.Kind)) out.Proxy = s.Proxy;
  if ((s.Connect as { Native?: unknown }).Native === true) out.Connect = { Native: true };
  out.Datacenter = datacenter;
  if (s.Locality) out.Locality = s.Locality;
  return out;
}

/** A local check as structs.HealthCheck (what `/v1/agent/checks` lists). */
export function agentCheckJson(c: CheckDef, node: string): Record<string, unknown> {
  return { ...checkRow({ ...c, Node: node, ServiceTags: c.ServiceTags ?? [] }, 0, 0) };
}

function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) =>
    x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x,
  );
}

/** A 64-bit FNV-1a hash of the value, in hex without leading zeros (Consul prints hashstructure's uint64 with %x). */
export function contentHash(value: unknown): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of new TextEncoder().encode(canonical(value))) {
    h ^= BigInt(byte);
    h = (h * 0x100000001b3n) & 0xffffffffffffffffn;
  }
  return h.toString(16);
}

/**
 * Parks until one of `topics` fires and `changed()` holds, the wait (Consul's
 * default 5m, at most 10m, plus up to 1/16 jitter) runs out, or `stopped()`.
 */
export async function waitLocal(hub: WatchHub, topics: readonly string[], waitMs: number, changed: () => boolean, stopped: () => boolean): Promise<void> {
  const deadline = Date.now() + effectiveWait(waitMs);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, deadline - Date.now()));
  });
  try {
    while (!changed() && !stopped() && Date.now() < deadline) {
      const fired = await Promise.race([Promise.race(topics.map((t) => hub.wait(t))).then(() => true), timeout]);
      if (!fired) return;
    }
  } finally {
    clearTimeout(timer);
  }
}
