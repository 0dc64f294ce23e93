/**
 * The agent: its own services and checks (local state), the runners that
 * probe the checks, anti-entropy that keeps the catalog in step, persistence
 * across restarts, maintenance mode and the reaping of services whose checks
 * stay critical past DeregisterCriticalServiceAfter.
 */
import { AgentChecks } from "./agent_checks.ts";
import { AntiEntropy, type NodeIdentity } from "./anti_entropy.ts";
import type { CatalogRpc } from "./catalog_rpc.ts";
import { type CheckDefinition, CheckDefinitionError, CheckErrorCode, CheckKind, checkType, decodeCheckDefinition } from "./checks/mod.ts";
import { InvalidAgentRequestError, UnknownCheckError, UnknownServiceError } from "./errors.ts";
import { LocalState, type ServiceDef } from "./local_state.ts";
import type { Logger } from "./logger.ts";
import { NODE_MAINT_ID, nodeMaintenanceCheck, serviceMaintenanceCheck, serviceMaintId } from "./maintenance.ts";
import { loadPersisted, persistedState, StateWriter } from "./persist.ts";
import { decodeServiceRegistration, serviceCheckIdentity, type ServiceRegistration, sidecarDefaultChecks, sidecarPort } from "./service_def.ts";
import { ConnectProxyKind, SIDECAR_SUFFIX } from "../structs/proxy.ts";
import { type UserEvent, UserEvents } from "./user_event.ts";
import type { Clock } from "../server/clock.ts";
import { formatGoDuration } from "../structs/duration.ts";
import type { Obj } from "../structs/decode.ts";

export interface AgentOptions {
  readonly identity: NodeIdentity;
  readonly rpc: CatalogRpc;
  readonly clock: Clock;
  readonly random: () => number;
  readonly logger: Logger;
  /** Where registrations persist; null keeps them in memory only (-dev). */
  readonly stateFile: string | null;
  readonly enableScriptChecks: boolean;
  readonly enableLocalScriptChecks: boolean;
  /** Handlers of internal user events (`_rexec`), by name. */
  readonly internalEvents?: Readonly<Record<string, (e: UserEvent) => void>>;
  readonly aeIntervalMs?: number;
  readonly checkReapIntervalMs?: number;
  readonly checkUpdateIntervalMs?: number;
  /** Smallest probe interval honoured (Consul: 1s); tests lower it. */
  readonly minCheckIntervalMs?: number;
  readonly clusterSize?: () => number;
  /** The range sidecar proxies take their ports from (Consul's ports.sidecar_min_port/sidecar_max_port). */
  readonly sidecarPorts?: { readonly min: number; readonly max: number };
}

interface PreparedService {
  readonly svc: ServiceDef;
  readonly defs: CheckDefinition[];
  readonly token: string;
}

export interface ConfigDefinitions {
  readonly services: readonly unknown[];
  readonly checks: readonly unknown[];
}

export class Agent {
  readonly local: LocalState;
  readonly ae: AntiEntropy;
  readonly identity: NodeIdentity;
  /** Recent user events this agent received (`/v1/event/list`). */
  readonly events: UserEvents;
  private readonly o: AgentOptions;
  private readonly checks: AgentChecks;
  private readonly serviceFromConfig = new Map<string, boolean>();
  private readonly writer: StateWriter | null;
  private reaper: unknown = null;
  private stopped = false;
  /** The config-file definitions in force, restored when a reload fails. */
  private configDefs: ConfigDefinitions = { services: [], checks: [] };

  constructor(options: AgentOptions) {
    this.o = options;
    this.identity = options.identity;
    this.local = new LocalState(() => options.clock.now());
    this.writer = options.stateFile
      ? new StateWriter(options.stateFile, (what, err) => options.logger.error(`agent: ${what} left out of the persisted state: ${err.message}`))
      : null;
    this.checks = new AgentChecks({
      local: this.local,
      node: options.identity.node,
      rpc: options.rpc,
      clock: options.clock,
      random: options.random,
      logger: options.logger,
      minCheckIntervalMs: options.minCheckIntervalMs,
      checkUpdateIntervalMs: options.checkUpdateIntervalMs,
      stopped: () => this.stopped,
    });
    this.events = new UserEvents({
      nodeName: options.identity.node,
      services: () => this.local.liveServices(),
      ...(options.internalEvents ? { internal: options.internalEvents } : {}),
    });
    this.ae = new AntiEntropy({
      local: this.local,
      rpc: options.rpc,
      identity: options.identity,
      clock: options.clock,
      random: options.random,
      logger: options.logger.named("anti_entropy"),
      intervalMs: options.aeIntervalMs,
      clusterSize: options.clusterSize,
    });
  }

  /** Restores persisted registrations, adds those from config, and starts syncing. */
  async start(config: ConfigDefinitions): Promise<void> {
    const saved = this.o.stateFile ? await loadPersisted(this.o.stateFile) : null;
    if (saved) {
      for (const s of saved.services) {
        if (s.fromConfig) continue;
        try {
          this.addService(s.service, [], s.token, false, false);
        } catch (err) {
          this.o.logger.warn(`agent: dropping persisted service ${s.service.ID}: ${(err as Error).message}`);
        }
      }
      for (const c of saved.checks) {
        if (c.fromConfig) continue;
        try {
          const def = decodeCheckDefinition(c.definition, { validate: false });
          this.checks.add(def, c.token, false, { Status: c.check.Status, Output: c.check.Output });
        } catch (err) {
          this.o.logger.warn(`agent: dropping persisted check ${c.check.CheckID}: ${(err as Error).message}`);
        }
      }
    }
    await this.loadConfigDefinitions(config);
    this.configDefs = config;
    // Config services exist only now, so their maintenance mode comes back last.
    for (const m of saved?.maintenance ?? []) {
      if (m.serviceId === "") this.setNodeMaintenance(true, m.reason);
      else if (this.local.service(m.serviceId)) this.setServiceMaintenance(m.serviceId, true, m.reason);
    }
    this.ae.start();
    this.scheduleReap();
  }

  private async loadConfigDefinitions(config: ConfigDefinitions): Promise<void> {
    for (const s of config.services) this.registerService(s, { fromConfig: true });
    for (const c of config.checks) this.registerCheck(c, { fromConfig: true });
    await this.persist();
  }

  /** Re-reads config-file definitions: those gone are removed, the rest replaced. */
  async reload(config: ConfigDefinitions): Promise<void> {
    const previous = this.configDefs;
    this.removeConfigDefinitions();
    try {
      await this.loadConfigDefinitions(config);
      this.configDefs = config;
    } catch (err) {
      // A bad new config leaves the agent running on the old one, as Consul's reload does.
      this.removeConfigDefinitions();
      await this.loadConfigDefinitions(previous);
      throw err;
    }
    this.ae.syncFull();
  }

  private removeConfigDefinitions(): void {
    for (const [id, fromConfig] of [...this.serviceFromConfig]) if (fromConfig) this.removeServiceInternal(id);
    for (const e of [...this.checks.values()]) if (e.fromConfig) this.checks.remove(e.def.ID);
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Release requests parked on local state (blocking reads, event lists).
    this.local.hub.fireAll();
    this.events.hub.fireAll();
    if (this.reaper !== null) this.o.clock.clearTimeout(this.reaper);
    this.checks.stopAll();
    await this.ae.stop();
    await this.writer?.flush();
  }

  // ---- services ----

  /** `PUT /v1/agent/service/register` and config `services` entries, with the sidecar a `Connect.SidecarService` block asks for. */
  registerService(body: unknown, opts: { fromConfig?: boolean; replaceExistingChecks?: boolean } = {}): string {
    const fromConfig = opts.fromConfig ?? false;
    const reg = decodeServiceRegistration(body);
    const main = this.prepareService(reg, fromConfig);
    // The sidecar is decoded, given a port and checked before anything is added, so a bad one leaves nothing half-registered.
    let side: PreparedService | null = null;
    if (reg.sidecar) {
      const sreg = decodeServiceRegistration(reg.sidecar, reg.service);
      const svc = sreg.service.Port < 1 ? { ...sreg.service, Port: sidecarPort(this.local.liveServices(), sreg.service.ID, this.o.sidecarPorts ?? { min: 21000, max: 21255 }) } : sreg.service;
      const checks = sreg.checks.length > 0 ? sreg.checks : sidecarDefaultChecks(svc, reg.service.ID);
      side = this.prepareService({ ...sreg, service: svc, checks, token: sreg.token || reg.token }, fromConfig);
    }
    this.commitService(main, opts.replaceExistingChecks ?? false, fromConfig);
    if (side) this.commitService(side, opts.replaceExistingChecks ?? false, fromConfig);
    return reg.service.ID;
  }

  private prepareService(reg: ServiceRegistration, fromConfig: boolean): PreparedService {
    const svc = reg.service;
    // Decode every check before changing anything, so a bad one leaves nothing half-registered.
    const defs = reg.checks.map((raw, i) => {
      const def = this.decodeCheck(raw, fromConfig);
      const ident = serviceCheckIdentity(svc.ID, svc.Service, i, reg.checks.length);
      if (def.ID === "") def.ID = ident.id;
      if (def.Name === "") def.Name = ident.name;
      def.ServiceID = svc.ID;
      return def;
    });
    for (const d of defs) {
      const owner = this.local.check(d.ID);
      if (owner && owner.check.ServiceID !== svc.ID) {
        throw new InvalidAgentRequestError(`Check ID "${d.ID}" is already registered for ${owner.check.ServiceID === "" ? "the node" : `service "${owner.check.ServiceID}"`}`);
      }
    }
    return { svc, defs, token: reg.token };
  }

  private commitService(p: PreparedService, replaceExistingChecks: boolean, fromConfig: boolean): void {
    if (replaceExistingChecks) {
      const keep = new Set(p.defs.map((d) => d.ID));
      for (const c of this.local.checksOfService(p.svc.ID)) {
        if (!keep.has(c.CheckID) && c.CheckID !== serviceMaintId(p.svc.ID)) this.checks.remove(c.CheckID);
      }
    }
    this.addService(p.svc, p.defs, p.token, fromConfig, true);
  }

  private addService(svc: ServiceDef, defs: CheckDefinition[], token: string, fromConfig: boolean, persist: boolean): void {
    this.local.addService(svc, token);
    this.serviceFromConfig.set(svc.ID, fromConfig);
    for (const d of defs) this.checks.add(d, token, fromConfig);
    if (persist) void this.persist();
  }

  deregisterService(id: string): void {
    if (!this.local.service(id)) throw new UnknownServiceError(`Unknown service ID "${id}". Ensure that the service ID is passed, not the service name.`);
    this.removeServiceInternal(id);
    // The sidecar registered through this service's sidecar_service goes with it, as in Consul.
    const sidecar = this.local.service(id + SIDECAR_SUFFIX);
    if (sidecar && sidecar.Kind === ConnectProxyKind && (sidecar.Proxy as { DestinationServiceID?: unknown }).DestinationServiceID === id) {
      this.removeServiceInternal(sidecar.ID);
    }
    void this.persist();
  }

  private removeServiceInternal(id: string): void {
    for (const c of this.local.checksOfService(id)) this.checks.remove(c.CheckID);
    this.local.removeService(id);
    this.serviceFromConfig.delete(id);
  }

  // ---- checks ----

  private decodeCheck(raw: unknown, fromConfig: boolean): CheckDefinition {
    const def = decodeCheckDefinition(raw, {
      scripts: { source: fromConfig ? "local" : "remote", enableScriptChecks: this.o.enableScriptChecks, enableLocalScriptChecks: this.o.enableLocalScriptChecks },
    });
    const kind = checkType(def);
    if (kind === "") {
      throw new InvalidAgentRequestError("Check is not valid since it has no type: one of Args, HTTP, TCP, UDP, GRPC, H2PING, TTL or AliasService must be set");
    }
    // createRunner refuses these too, but only after the service is in local
    // state; refusing here keeps a registration all-or-nothing.
    if (kind === CheckKind.Docker || kind === CheckKind.OSService) {
      throw new CheckDefinitionError(CheckErrorCode.Unsupported, `${kind} checks are not supported by this agent`);
    }
    return def;
  }

  /** `PUT /v1/agent/check/register` and config `checks` entries. */
  registerCheck(body: unknown, opts: { fromConfig?: boolean } = {}): string {
    const fromConfig = opts.fromConfig ?? false;
    const def = this.decodeCheck(body, fromConfig);
    if (def.ID === "") def.ID = def.Name;
    if (def.ID === "") throw new InvalidAgentRequestError("Missing check name");
    if (def.ServiceID !== "" && !this.local.service(def.ServiceID)) {
      throw new InvalidAgentRequestError(`ServiceID "${def.ServiceID}" does not exist`);
    }
    this.checks.add(def, (body as Obj).Token as string ?? "", fromConfig);
    void this.persist();
    return def.ID;
  }

  deregisterCheck(id: string): void {
    if (!this.local.check(id)) throw new UnknownCheckError(`Unknown check ID "${id}". Ensure that the check ID is passed, not the check name.`);
    this.checks.remove(id);
    void this.persist();
  }

  /** `/v1/agent/check/pass|warn|fail|update`: only TTL checks take outside results. */
  updateTtl(id: string, status: "passing" | "warning" | "critical", output: string): void {
    this.checks.updateTtl(id, status, output);
    void this.persist();
  }

  // ---- maintenance ----

  setServiceMaintenance(serviceId: string, enable: boolean, reason: string): void {
    if (!this.local.service(serviceId)) throw new UnknownServiceError(`No service registered with ID "${serviceId}"`);
    const id = serviceMaintId(serviceId);
    if (enable) {
      if (!this.local.check(id)) this.local.addCheck(serviceMaintenanceCheck(serviceId, reason));
    } else {
      this.local.removeCheck(id);
    }
    void this.persist();
  }

  setNodeMaintenance(enable: boolean, reason: string): void {
    if (enable) {
      if (!this.local.check(NODE_MAINT_ID)) this.local.addCheck(nodeMaintenanceCheck(reason));
    } else {
      this.local.removeCheck(NODE_MAINT_ID);
    }
    void this.persist();
  }

  // ---- internals ----

  /** Removes services whose checks stayed critical past DeregisterCriticalServiceAfter. */
  reapCritical(): void {
    const now = this.o.clock.now();
    for (const e of [...this.checks.values()]) {
      const after = e.def.DeregisterCriticalServiceAfter;
      const serviceId = e.def.ServiceID;
      if (after <= 0 || serviceId === "" || !this.local.service(serviceId)) continue;
      const since = this.local.check(e.def.ID)?.criticalSince ?? null;
      if (since !== null && now - since > after) {
        this.o.logger.info(`agent: check "${e.def.ID}" critical for longer than ${formatGoDuration(after)}, deregistering service "${serviceId}"`);
        this.removeServiceInternal(serviceId);
        void this.persist();
      }
    }
  }

  private scheduleReap(): void {
    const every = this.o.checkReapIntervalMs ?? 30_000;
    const tick = () => {
      if (this.stopped) return;
      this.reapCritical();
      this.reaper = this.o.clock.setTimeout(tick, every);
    };
    this.reaper = this.o.clock.setTimeout(tick, every);
  }

  private async persist(): Promise<void> {
    if (!this.writer) return;
    try {
      await this.writer.save(() => persistedState(this.local, this.serviceFromConfig, this.checks.values()));
    } catch (err) {
      this.o.logger.error(`agent: failed to persist local state: ${(err as Error).message}`);
    }
  }
}
