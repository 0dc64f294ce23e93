/**
 * Where an API gateway reads its configuration: Consulate's HTTP API over
 * plain fetch (so the edge bundle uses it as is), with the ACL token.
 * `loadConfig` reads the gateway, its routes, JWT providers, certificates
 * and the discovery chain of every routed service; `waitForChange` is a
 * set of blocking queries that returns once any of the kinds behind them
 * moves past the index (or the wait runs out). Callers keep the last good
 * config when a load fails.
 */
import type { CompiledDiscoveryChainWire } from "../../src/api/discovery_chain.ts";
import type { EntryBody } from "../../src/configentry/kinds/kind.ts";
import { routedServices } from "./table.ts";

export interface HttpApi {
  /** e.g. "http://127.0.0.1:8500" */
  readonly base: string;
  readonly token?: string;
  readonly datacenter?: string;
  readonly fetch?: typeof fetch;
}

export class ConfigSourceError extends Error {
  override readonly name = "ConfigSourceError";
}

export interface GatewayConfig {
  /** The highest X-Consul-Index seen (fed back to waitForChange). */
  readonly index: number;
  readonly gateway: EntryBody | null;
  readonly httpRoutes: readonly EntryBody[];
  readonly tcpRoutes: readonly EntryBody[];
  readonly providers: readonly EntryBody[];
  readonly certificates: ReadonlyMap<string, EntryBody>;
  readonly chains: ReadonlyMap<string, CompiledDiscoveryChainWire>;
}

/** The kinds whose changes can change a gateway's table. */
const WATCHED = ["api-gateway", "http-route", "tcp-route", "jwt-provider", "inline-certificate", "service-defaults", "proxy-defaults", "service-resolver", "service-splitter", "service-router"] as const;

async function getJson(api: HttpApi, path: string, params: Record<string, string>, signal?: AbortSignal): Promise<{ value: unknown; index: number; status: number }> {
  const url = new URL(path, api.base);
  for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
  if (api.datacenter) url.searchParams.set("dc", api.datacenter);
  const headers: Record<string, string> = {};
  if (api.token) headers["X-Consul-Token"] = api.token;
  const res = await (api.fetch ?? fetch)(url.toString(), { headers, ...(signal ? { signal } : {}) });
  const index = Number(res.headers.get("x-consul-index") ?? "0") || 0;
  if (res.status === 404) {
    await res.body?.cancel();
    return { value: null, index, status: 404 };
  }
  if (res.status !== 200) throw new ConfigSourceError(`GET ${path}: ${res.status} ${(await res.text()).slice(0, 200)}`);
  return { value: (await res.json()) as unknown, index, status: 200 };
}

const list = (v: unknown): EntryBody[] => (Array.isArray(v) ? (v as EntryBody[]) : []);

export async function loadConfig(api: HttpApi, gateway: string, signal?: AbortSignal): Promise<GatewayConfig> {
  const [gw, routes, tcp, providers, certs] = await Promise.all([
    getJson(api, `/v1/config/api-gateway/${encodeURIComponent(gateway)}`, {}, signal),
    getJson(api, "/v1/config/http-route", {}, signal),
    getJson(api, "/v1/config/tcp-route", {}, signal),
    getJson(api, "/v1/config/jwt-provider", {}, signal),
    getJson(api, "/v1/config/inline-certificate", {}, signal),
  ]);
  const ours = (r: EntryBody) => (Array.isArray(r.Parents) ? (r.Parents as { Name?: string }[]) : []).some((p) => p.Name === gateway);
  const httpRoutes = list(routes.value).filter(ours);
  const tcpRoutes = list(tcp.value).filter(ours);
  const chains = new Map<string, CompiledDiscoveryChainWire>();
  await Promise.all(
    [...new Set([...routedServices(httpRoutes), ...tcpRoutes.flatMap((r) => (Array.isArray(r.Services) ? (r.Services as { Name?: string }[]) : []).map((x) => x.Name ?? ""))])].filter((x) => x !== "").map(async (svc) => {
      const c = await getJson(api, `/v1/discovery-chain/${encodeURIComponent(svc)}`, {}, signal);
      const chain = (c.value as { Chain?: CompiledDiscoveryChainWire } | null)?.Chain;
      if (chain) chains.set(svc, chain);
    }),
  );
  return {
    index: Math.max(gw.index, routes.index, tcp.index, providers.index, certs.index),
    gateway: (gw.value as EntryBody | null) ?? null,
    httpRoutes,
    tcpRoutes,
    providers: list(providers.value),
    certificates: new Map(list(certs.value).map((c) => [c.Name, c])),
    chains,
  };
}

/**
 * Blocks until a watched kind changes after `index` (or `waitMs` passes).
 * Config lists answer with the config table's index, so one index serves them all.
 */
export async function waitForChange(api: HttpApi, index: number, waitMs: number, signal?: AbortSignal): Promise<number> {
  const inner = new AbortController();
  const stop = () => inner.abort();
  signal?.addEventListener("abort", stop, { once: true });
  try {
    return await new Promise<number>((resolve, reject) => {
      let failures = 0;
      for (const kind of WATCHED) {
        getJson(api, `/v1/config/${kind}`, { index: String(index), wait: `${Math.max(1, Math.round(waitMs / 1000))}s` }, inner.signal).then(
          (r) => resolve(r.index),
          (err: unknown) => {
            if (++failures === WATCHED.length) reject(err);
          },
        );
      }
    });
  } finally {
    inner.abort();
    signal?.removeEventListener("abort", stop);
  }
}
