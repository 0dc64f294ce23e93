/**
 * A gateway's counters, rendered as Prometheus text (exposition format
 * 0.0.4): connections (total and open), bytes in and out, connections per
 * route, refusals by reason and TLS handshake errors. Byte counts come from
 * the sockets' own totals, read when a connection closes and at scrape time
 * for open ones, so the data path pays nothing per chunk.
 */
/** What the counters need of a connection (a node:net Socket or a TcpConn). */
export interface CountedConn {
  readonly bytesRead: number;
  readonly bytesWritten: number;
  destroy(): void;
}

/** Routes kept as separate series; beyond that they are summed under "other" (a hostile client cannot grow the table). */
const MAX_ROUTE_LABELS = 1_000;

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

class LabeledCounter {
  readonly values = new Map<string, number>();
  inc(label: string, by = 1): void {
    const key = this.values.has(label) || this.values.size < MAX_ROUTE_LABELS ? label : "other";
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }
  get(label: string): number {
    return this.values.get(label) ?? 0;
  }
}

export class GatewayMetrics {
  readonly prefix: string;
  connections = 0;
  readonly open = new Set<CountedConn>();
  private closedIn = 0;
  private closedOut = 0;
  readonly byRoute = new LabeledCounter();
  readonly bytesByRoute = new LabeledCounter();
  readonly refused = new LabeledCounter();
  readonly handshakeErrors = new LabeledCounter();
  readonly upstreamErrors = new LabeledCounter();
  capHits = 0;

  /** `prefix` names the series, e.g. "consulate_mesh_gateway". */
  constructor(prefix: string) {
    this.prefix = prefix;
  }

  /**
   * Counts an accepted client connection as open; the caller runs the
   * returned function when it closes. `route()` names it once known.
   */
  accepted(client: CountedConn, route: () => string): () => void {
    this.connections++;
    this.open.add(client);
    return () => {
      if (!this.open.delete(client)) return;
      this.closedIn += client.bytesRead;
      this.closedOut += client.bytesWritten;
      const r = route();
      if (r !== "") this.bytesByRoute.inc(r, client.bytesRead + client.bytesWritten);
    };
  }

  get bytesIn(): number {
    let n = this.closedIn;
    for (const s of this.open) n += s.bytesRead;
    return n;
  }

  get bytesOut(): number {
    let n = this.closedOut;
    for (const s of this.open) n += s.bytesWritten;
    return n;
  }

  get refusedTotal(): number {
    let n = 0;
    for (const v of this.refused.values.values()) n += v;
    return n;
  }

  prometheus(extra: Record<string, number> = {}): string {
    const p = this.prefix;
    const lines: string[] = [];
    const scalar = (name: string, type: "counter" | "gauge", help: string, v: number) => lines.push(`# HELP ${p}_${name} ${help}`, `# TYPE ${p}_${name} ${type}`, `${p}_${name} ${v}`);
    const labeled = (name: string, help: string, label: string, c: LabeledCounter) => {
      lines.push(`# HELP ${p}_${name} ${help}`, `# TYPE ${p}_${name} counter`);
      for (const [k, v] of [...c.values].sort(([a], [b]) => (a < b ? -1 : 1))) lines.push(`${p}_${name}{${label}="${escapeLabel(k)}"} ${v}`);
    };
    scalar("connections_total", "counter", "Client connections accepted.", this.connections);
    scalar("connections_active", "gauge", "Client connections open now.", this.open.size);
    scalar("bytes_in_total", "counter", "Bytes received from clients.", this.bytesIn);
    scalar("bytes_out_total", "counter", "Bytes sent to clients.", this.bytesOut);
    scalar("connection_cap_hits_total", "counter", "Connections closed because the concurrent connection cap was reached.", this.capHits);
    labeled("route_connections_total", "Connections routed, by route.", "route", this.byRoute);
    labeled("route_bytes_total", "Bytes carried both ways on closed connections, by route.", "route", this.bytesByRoute);
    labeled("refused_total", "Connections refused, by reason.", "reason", this.refused);
    labeled("handshake_errors_total", "TLS handshakes that failed or were malformed, by kind.", "kind", this.handshakeErrors);
    labeled("upstream_errors_total", "Connections whose upstream could not be reached, by route.", "route", this.upstreamErrors);
    for (const [name, v] of Object.entries(extra)) scalar(name, "gauge", name.replace(/_/g, " ") + ".", v);
    return `${lines.join("\n")}\n`;
  }
}
