/**
 * Request timings per endpoint, kept the way go-metrics' in-memory sink
 * shows samples (`consul.api.http` labelled by method and path), and the two
 * renderings of `/v1/agent/metrics`: Consul's JSON summary and Prometheus
 * text. Figures are cumulative since the agent started.
 */

export type Labels = Readonly<Record<string, string>>;

export interface GaugeValue {
  readonly Name: string;
  readonly Value: number;
  readonly Labels: Labels;
}

/** go-metrics' SampledValue: Count, Rate (Sum per second), Sum, Min, Max, Mean, Stddev. */
export interface SampledValue {
  readonly Name: string;
  readonly Count: number;
  readonly Rate: number;
  readonly Sum: number;
  readonly Min: number;
  readonly Max: number;
  readonly Mean: number;
  readonly Stddev: number;
  readonly Labels: Labels;
}

export interface MetricsSummary {
  readonly Timestamp: string;
  readonly Gauges: GaugeValue[];
  readonly Points: never[];
  readonly Counters: SampledValue[];
  readonly Samples: SampledValue[];
}

class Aggregate {
  count = 0;
  sum = 0;
  sumSq = 0;
  min = Infinity;
  max = -Infinity;

  add(v: number): void {
    this.count++;
    this.sum += v;
    this.sumSq += v * v;
    this.min = Math.min(this.min, v);
    this.max = Math.max(this.max, v);
  }

  value(name: string, labels: Labels, seconds: number): SampledValue {
    const mean = this.count === 0 ? 0 : this.sum / this.count;
    const variance = this.count < 2 ? 0 : (this.sumSq - this.count * mean * mean) / (this.count - 1);
    return {
      Name: name,
      Count: this.count,
      Rate: seconds > 0 ? this.sum / seconds : 0,
      Sum: this.sum,
      Min: this.count === 0 ? 0 : this.min,
      Max: this.count === 0 ? 0 : this.max,
      Mean: mean,
      Stddev: Math.sqrt(Math.max(0, variance)),
      Labels: labels,
    };
  }
}

const labels = new Map<string, string>();

/** Consul's label for a route: its path parts joined by "_", a parameter tail becoming "_". */
export function pathLabel(routePattern: string): string {
  let label = labels.get(routePattern);
  if (label === undefined) {
    label = computePathLabel(routePattern);
    labels.set(routePattern, label);
  }
  return label;
}

function computePathLabel(routePattern: string): string {
  const parts: string[] = [];
  for (const part of routePattern.split("/").slice(1)) {
    if (part.startsWith(":") || part === "*") {
      parts.push("_");
      break;
    }
    parts.push(part === "" ? "_" : part);
  }
  return parts.join("_");
}

export class RequestMetrics {
  private readonly byRoute = new Map<string, { labels: Labels; agg: Aggregate }>();
  private readonly started: number;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
    this.started = now();
  }

  /** Records one answered request that took `ms` milliseconds. */
  record(method: string, path: string, ms: number): void {
    const key = `${method} ${path}`;
    let entry = this.byRoute.get(key);
    if (!entry) {
      entry = { labels: { method, path }, agg: new Aggregate() };
      this.byRoute.set(key, entry);
    }
    entry.agg.add(ms);
  }

  samples(): SampledValue[] {
    const seconds = (this.now() - this.started) / 1000;
    return [...this.byRoute.values()].map((e) => e.agg.value("consul.api.http", e.labels, seconds));
  }

  get uptimeSeconds(): number {
    return (this.now() - this.started) / 1000;
  }
}

/** A counter kept elsewhere (e.g. anti-entropy syncs), shown as go-metrics shows counters. */
export function counterValue(name: string, count: number, seconds: number, labels: Labels = {}): SampledValue {
  return { Name: name, Count: count, Rate: seconds > 0 ? count / seconds : 0, Sum: count, Min: 1, Max: 1, Mean: 1, Stddev: 0, Labels: labels };
}

/** go-metrics stamps the interval as Go's time.Time String(), truncated to its 10s interval. */
export function metricsTimestamp(nowMs: number): string {
  const d = new Date(Math.floor(nowMs / 10_000) * 10_000);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000 UTC`;
}

const promName = (name: string): string => name.replace(/[^a-zA-Z0-9_:]/g, "_");
const promLabels = (labels: Labels, extra = ""): string => {
  const parts = Object.entries(labels).map(([k, v]) => `${promName(k)}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  if (extra !== "") parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
};

/** The Prometheus text exposition format (version 0.0.4). */
export function prometheusText(summary: MetricsSummary): string {
  const lines: string[] = [];
  const group = <T extends { Name: string }>(items: T[]): Map<string, T[]> => {
    const m = new Map<string, T[]>();
    for (const i of items) m.set(i.Name, [...(m.get(i.Name) ?? []), i]);
    return m;
  };
  for (const [name, items] of group(summary.Gauges)) {
    const n = promName(name);
    lines.push(`# HELP ${n} ${n}`, `# TYPE ${n} gauge`);
    for (const g of items) lines.push(`${n}${promLabels(g.Labels)} ${g.Value}`);
  }
  for (const [name, items] of group(summary.Counters)) {
    const n = promName(name);
    lines.push(`# HELP ${n} ${n}`, `# TYPE ${n} counter`);
    for (const c of items) lines.push(`${n}${promLabels(c.Labels)} ${c.Sum}`);
  }
  for (const [name, items] of group(summary.Samples)) {
    const n = promName(name);
    lines.push(`# HELP ${n} ${n}`, `# TYPE ${n} summary`);
    for (const s of items) {
      lines.push(`${n}_sum${promLabels(s.Labels)} ${s.Sum}`, `${n}_count${promLabels(s.Labels)} ${s.Count}`);
    }
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
