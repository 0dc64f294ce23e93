/**
 * `-register` of `consulate connect proxy` (Consul's RegisterMonitor): the
 * proxy registers itself as `<service>-proxy`, a connect-proxy with a TTL
 * check it passes three times per TTL, re-registers if the catalog lost it,
 * and deregisters on shutdown. A gateway registers its own definition (kind,
 * tagged addresses, a TCP check the agent runs) through the same loop.
 */
import type { AgentServiceRegistration, Client } from "../../src/api/mod.ts";
import { errorText, type MeshLogger, silentLogger } from "../mesh/log.ts";

export const REGISTER_RECONCILE_MS = 30_000;
export const REGISTER_TTL_MS = 30_000;

export interface RegisterMonitorOptions {
  readonly client: Client;
  readonly service: string;
  readonly address: string;
  readonly port: number;
  readonly idSuffix?: string;
  readonly logger?: MeshLogger;
  readonly reconcileMs?: number;
  readonly ttlMs?: number;
  /** Registered as given instead of a connect-proxy with a TTL check (no heartbeat is sent). */
  readonly definition?: AgentServiceRegistration & { ID: string; Name: string };
}

export class RegisterMonitor {
  private readonly o: RegisterMonitorOptions;
  private readonly log: MeshLogger;
  private timers: ReturnType<typeof setTimeout>[] = [];
  private stopped = false;

  constructor(o: RegisterMonitorOptions) {
    this.o = o;
    this.log = o.logger ?? silentLogger;
  }

  get serviceId(): string {
    return this.o.definition?.ID ?? `${this.o.service}-proxy${this.o.idSuffix ? `-${this.o.idSuffix}` : ""}`;
  }

  private get serviceName(): string {
    return this.o.definition?.Name ?? `${this.o.service}-proxy`;
  }

  get checkId(): string {
    return `${this.serviceId}-ttl`;
  }

  async start(): Promise<void> {
    await this.register();
    const every = (ms: number, fn: () => Promise<void>) => {
      const tick = () => {
        if (this.stopped) return;
        void fn().finally(() => {
          if (!this.stopped) this.timers.push(setTimeout(tick, ms));
        });
      };
      this.timers.push(setTimeout(tick, ms));
    };
    every(this.o.reconcileMs ?? REGISTER_RECONCILE_MS, () => this.register());
    if (!this.o.definition) every((this.o.ttlMs ?? REGISTER_TTL_MS) / 3, () => this.heartbeat());
  }

  private async register(): Promise<void> {
    try {
      const [current] = await this.o.client.catalog().service(this.serviceName, "", { stale: true });
      const mine = current.find((s) => s.ServiceID === this.serviceId);
      if (mine && mine.ServiceAddress === this.o.address && mine.ServicePort === this.o.port) return;
      await this.o.client.agent().serviceRegister(this.o.definition ?? {
        Kind: "connect-proxy",
        ID: this.serviceId,
        Name: `${this.o.service}-proxy`,
        Address: this.o.address,
        Port: this.o.port,
        Proxy: { DestinationServiceName: this.o.service },
        Check: { CheckID: this.checkId, Name: "proxy heartbeat", TTL: `${Math.round((this.o.ttlMs ?? REGISTER_TTL_MS) / 1000)}s`, Notes: "Built-in proxy will heartbeat this check.", Status: "passing" },
      });
      this.log.info(`registered Consul service: service=${this.serviceId}`);
    } catch (err) {
      this.log.warn(`Failed to register Consul service: error=${errorText(err)}`);
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.o.client.agent().passTTL(this.checkId, "");
    } catch (err) {
      if (!errorText(err).includes("does not have associated")) this.log.warn(`heartbeat failed: error=${errorText(err)}`);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.log.info("stop request received, deregistering");
    for (let i = 0; i < 3; i++) {
      try {
        await this.o.client.agent().serviceDeregister(this.serviceId);
        return;
      } catch (err) {
        this.log.warn(`service deregister failed: error=${errorText(err)}`);
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
}
