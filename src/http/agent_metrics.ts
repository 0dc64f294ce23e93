/**
 * `GET /v1/agent/metrics`: figures this agent can report truthfully — process
 * memory, the raft (log) index, catalog and KV sizes, local services and
 * checks, anti-entropy syncs and per-endpoint HTTP timings — as Consul's JSON
 * summary or, with `?format=prometheus` (or an OpenMetrics Accept header),
 * as Prometheus text.
 */
import type { Context, Hono } from "hono";
import { type ApiContext, json, urlOf } from "./context.ts";
import { counterValue, type GaugeValue, type MetricsSummary, metricsTimestamp, prometheusText, type RequestMetrics, type SampledValue } from "./metrics.ts";

/** Consul's enablePrometheusOutput: `?format=prometheus`, or an Accept naming OpenMetrics or text 0.0.4. */
function wantsPrometheus(c: Context): boolean {
  if (urlOf(c).searchParams.get("format") === "prometheus") return true;
  for (const part of (c.req.header("accept") ?? "").split(",")) {
    const [mime = "", ...params] = part.split(";").map((s) => s.trim());
    if (mime.toLowerCase() === "application/openmetrics-text") return true;
    if (mime.toLowerCase() === "text/plain" && params[0] === "version=0.0.4") return true;
  }
  return false;
}

export function metricsSummary(api: ApiContext, requests: RequestMetrics): MetricsSummary {
  const gauge = (Name: string, Value: number): GaugeValue => ({ Name, Value, Labels: {} });
  const gauges: GaugeValue[] = [];
  const mem = api.hooks?.memory?.();
  if (mem) {
    gauges.push(gauge("consul.runtime.alloc_bytes", mem.heapUsed), gauge("consul.runtime.heap_total_bytes", mem.heapTotal), gauge("consul.runtime.sys_bytes", mem.rss));
  }
  // Raft and state figures exist only where the state is: on a server agent.
  if (api.server) {
    const t = api.server.state.t;
    const serviceNames = new Set<string>();
    for (const row of t.services.values()) serviceNames.add(row.Service.Service);
    let kvEntries = 0;
    for (const row of t.kvs.values()) if (!row.Tombstone) kvEntries++;
    gauges.push(
      gauge("consul.raft.applied_index", api.server.lastIndex()),
      gauge("consul.raft.last_index", api.server.lastIndex()),
      gauge("consul.state.nodes", t.nodes.size),
      gauge("consul.state.services", serviceNames.size),
      gauge("consul.state.service_instances", t.services.size),
      gauge("consul.state.kv_entries", kvEntries),
      gauge("consul.session.active", t.sessions.size),
    );
  }
  for (const g of api.federation?.gauges() ?? []) gauges.push({ Name: g.name, Value: g.value, Labels: g.labels });
  gauges.push(gauge("consul.runtime.uptime_seconds", Math.floor(requests.uptimeSeconds)));
  const counters: SampledValue[] = [];
  const agent = api.localAgent;
  if (agent) {
    gauges.push(gauge("consul.agent.local.services", agent.local.liveServices().length), gauge("consul.agent.local.checks", agent.local.liveChecks().length));
    const s = requests.uptimeSeconds;
    counters.push(
      counterValue("consul.agent.anti_entropy.full_syncs", agent.ae.stats.fullSyncs, s),
      counterValue("consul.agent.anti_entropy.partial_syncs", agent.ae.stats.partialSyncs, s),
      counterValue("consul.agent.anti_entropy.failures", agent.ae.stats.failures, s),
    );
  }
  // Inbound gossip thrown away, by pool and reason (bad key, replay, truncated...).
  for (const [network, pool] of [["lan", api.lan], ["wan", api.wan]] as const) {
    if (!pool) continue;
    for (const [reason, n] of Object.entries(pool.stats().dropped)) {
      counters.push(counterValue("consul.memberlist.dropped", n, requests.uptimeSeconds, { network, reason }));
    }
  }
  return { Timestamp: metricsTimestamp(Date.now()), Gauges: gauges, Points: [], Counters: counters, Samples: requests.samples() };
}

export function agentMetricsRoutes(app: Hono, api: ApiContext, requests: RequestMetrics): void {
  app.get("/v1/agent/metrics", (c) => {
    const summary = metricsSummary(api, requests);
    if (wantsPrometheus(c)) return c.body(prometheusText(summary), 200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
    return json(c, summary);
  });
}
