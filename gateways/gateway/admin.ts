/**
 * A gateway's admin listener (Envoy's `-admin-bind` in Consul): Prometheus
 * text at `/stats/prometheus` (and `/metrics`), and `/ready`, which answers
 * 200 once the gateway has a routing table and 503 before or while draining.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface AdminOptions {
  readonly host: string;
  readonly port: number;
  readonly metrics: () => string;
  readonly ready: () => boolean;
  /** More GET paths answered with JSON (a sidecar's `/clusters` and `/config_dump`). */
  readonly json?: Readonly<Record<string, () => unknown>>;
}

export class AdminServer {
  private readonly server: Server;
  private readonly o: AdminOptions;

  constructor(o: AdminOptions) {
    this.o = o;
    this.server = createServer((req, res) => {
      const path = (req.url ?? "/").split("?")[0];
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { "content-type": "text/plain" }).end("method not allowed\n");
      } else if (path === "/stats/prometheus" || path === "/metrics") {
        res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(this.o.metrics());
      } else if (path !== undefined && this.o.json?.[path]) {
        res.writeHead(200, { "content-type": "application/json" }).end(`${JSON.stringify(this.o.json[path]!(), null, 2)}\n`);
      } else if (path === "/ready") {
        const ok = this.o.ready();
        res.writeHead(ok ? 200 : 503, { "content-type": "text/plain" }).end(ok ? "LIVE\n" : "NOT READY\n");
      } else {
        res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
      }
    });
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? 0;
  }

  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once("error", reject);
      this.server.listen(this.o.port, this.o.host, () => {
        this.server.off("error", reject);
        resolve();
      });
    });
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
