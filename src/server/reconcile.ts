/**
 * Membership drives the catalog (a leader duty; Consul's leader.go
 * reconcileMember): an alive member has its node and a passing serfHealth
 * check (servers also the `consul` service), a failed one a critical
 * serfHealth, and a member that left or was reaped is deregistered. Member
 * events are handled as they come; a full pass runs at start and every
 * ReconcileInterval, which also deregisters catalog nodes with a serfHealth
 * check that the pool no longer knows.
 */
import type { Server } from "./server.ts";
import { consulServiceInstance, HealthStatus, type NodeService, type RegisterRequest, SERF_ALIVE_OUTPUT, SERF_CHECK_ID, SERF_FAILED_OUTPUT, serfHealthCheck } from "../structs/catalog.ts";
import { MessageType } from "../state/mod.ts";

export type MemberStatus = "alive" | "leaving" | "left" | "failed";

/** What the reconciler reads of a gossip member (Serf's Member). */
export interface MemberView {
  readonly Name: string;
  readonly Addr: string;
  readonly Port: number;
  readonly Tags: Readonly<Record<string, string>>;
  readonly Status: MemberStatus;
}

export interface MemberEventView {
  readonly type: string;
  readonly member?: MemberView;
}

/** The part of a LAN pool the reconciler uses (the gossip facade is one). */
export interface MembershipSource {
  members(): MemberView[];
  on(listener: (event: MemberEventView) => void): () => void;
}

export interface ReconcilerOptions {
  /** Only the leader reconciles (always true for a single server). */
  readonly isLeader?: () => boolean;
  /** Full reconcile period (Consul's ReconcileInterval, 60s). */
  readonly intervalMs?: number;
  readonly log?: (level: "info" | "warn", msg: string) => void;
}

/** Consul tags a server member with role=consul and its RPC port. */
export function isServerMember(m: MemberView): boolean {
  return m.Tags.role === "consul";
}

function consulService(m: MemberView): Omit<NodeService, "CreateIndex" | "ModifyIndex"> {
  const build = m.Tags.build ?? "";
  return consulServiceInstance(Number(m.Tags.port ?? "8300") || 8300, {
    raft_version: m.Tags.raft_vsn ?? "3",
    serf_protocol_current: "2",
    serf_protocol_max: "5",
    serf_protocol_min: "1",
    version: build.includes(":") ? build.slice(0, build.indexOf(":")) : build,
  });
}

export class MemberReconciler {
  private readonly server: Server;
  private readonly pool: MembershipSource;
  private readonly o: ReconcilerOptions;
  private unsubscribe: () => void = () => {};
  private timer: unknown = null;
  /** Serializes catalog writes, so events apply in the order they came. */
  private chain: Promise<void> = Promise.resolve();
  private stopped = false;
  /** Writes made, for tests and metrics. */
  readonly stats = { registered: 0, failed: 0, deregistered: 0, passes: 0 };

  constructor(server: Server, pool: MembershipSource, options: ReconcilerOptions = {}) {
    this.server = server;
    this.pool = pool;
    this.o = options;
  }

  start(): void {
    this.unsubscribe = this.pool.on((e) => {
      if (e.member && e.type.startsWith("member-")) {
        const m = e.member;
        this.enqueue(() => (e.type === "member-reap" ? this.handleGone(m.Name) : this.handleMember(m)));
      }
    });
    this.enqueue(() => this.reconcileAll());
    const every = this.o.intervalMs ?? 60_000;
    const tick = () => {
      if (this.stopped) return;
      this.enqueue(() => this.reconcileAll());
      this.timer = this.server.clock.setTimeout(tick, every);
    };
    this.timer = this.server.clock.setTimeout(tick, every);
  }

  /** Resolves when every queued event has been written. */
  idle(): Promise<void> {
    return this.chain;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe();
    if (this.timer !== null) this.server.clock.clearTimeout(this.timer);
    await this.chain;
  }

  private enqueue(job: () => Promise<void>): void {
    this.chain = this.chain.then(async () => {
      if (this.stopped || this.server.isStopped || !(this.o.isLeader?.() ?? true)) return;
      try {
        await job();
      } catch (err) {
        this.o.log?.("warn", `reconcile: ${(err as Error).message}`);
      }
    });
  }

  /** One full pass: every member, then catalog nodes the pool has forgotten. */
  async reconcileAll(): Promise<void> {
    this.stats.passes++;
    const dc = this.server.config.datacenter;
    const members = this.pool.members().filter((m) => (m.Tags.dc ?? dc) === dc);
    for (const m of members) await this.handleMember(m);
    const known = new Set(members.map((m) => m.Name));
    const t = this.server.state.t;
    const reaped: string[] = [];
    for (const c of t.checks.values()) {
      if (c.CheckID === SERF_CHECK_ID && !known.has(c.Node) && c.Node !== this.server.config.nodeName) reaped.push(c.Node);
    }
    for (const node of reaped) await this.handleGone(node);
  }

  private async handleMember(m: MemberView): Promise<void> {
    if ((m.Tags.dc ?? this.server.config.datacenter) !== this.server.config.datacenter) return;
    switch (m.Status) {
      case "alive":
        return this.handleAlive(m);
      case "failed":
        return this.handleFailed(m);
      case "left":
        return this.handleGone(m.Name);
      default:
        return;
    }
  }

  private registration(m: MemberView, status: string, output: string, withService: boolean): RegisterRequest {
    const t = this.server.state.t;
    const node = t.nodes.get(m.Name);
    // A node the agent registered keeps its own fields unless its address moved.
    const keep = node !== undefined && node.Address === m.Addr;
    return {
      ID: node?.ID ?? m.Tags.id ?? "",
      Node: m.Name,
      Address: m.Addr,
      Datacenter: this.server.config.datacenter,
      TaggedAddresses: node?.TaggedAddresses ?? {},
      NodeMeta: node?.Meta ?? {},
      Service: withService ? consulService(m) : null,
      Checks: [serfHealthCheck(m.Name, status, output)],
      SkipNodeUpdate: keep,
    };
  }

  private async handleAlive(m: MemberView): Promise<void> {
    const t = this.server.state.t;
    const node = t.nodes.get(m.Name);
    const serf = t.checks.get(`${m.Name}\u0000${SERF_CHECK_ID}`);
    const server = isServerMember(m);
    const svc = server ? t.services.get(`${m.Name}\u0000consul`) : undefined;
    const svcOk = !server || (svc !== undefined && svc.Service.Port === consulService(m).Port);
    if (node && node.Address === m.Addr && serf?.Status === HealthStatus.Passing && svcOk) return;
    await this.write(this.registration(m, HealthStatus.Passing, SERF_ALIVE_OUTPUT, server));
    this.stats.registered++;
    this.o.log?.("info", `member ${m.Name} is alive: serfHealth passing`);
  }

  private async handleFailed(m: MemberView): Promise<void> {
    const t = this.server.state.t;
    const serf = t.checks.get(`${m.Name}\u0000${SERF_CHECK_ID}`);
    if (t.nodes.has(m.Name) && serf?.Status === HealthStatus.Critical) return;
    await this.write(this.registration(m, HealthStatus.Critical, SERF_FAILED_OUTPUT, isServerMember(m) && !t.services.has(`${m.Name}\u0000consul`)));
    this.stats.failed++;
    this.o.log?.("info", `member ${m.Name} failed: serfHealth critical`);
  }

  /** A member that left or was reaped leaves the catalog (never this server itself). */
  private async handleGone(name: string): Promise<void> {
    if (name === this.server.config.nodeName) return;
    if (!this.server.state.t.nodes.has(name)) return;
    await this.server.mustWrite({ Type: MessageType.Deregister, Now: this.server.clock.now(), Req: { Node: name, ServiceID: "", CheckID: "" } });
    this.stats.deregistered++;
    this.o.log?.("info", `member ${name} left: deregistered`);
  }

  private async write(req: RegisterRequest): Promise<void> {
    await this.server.mustWrite({ Type: MessageType.Register, Now: this.server.clock.now(), Req: req });
  }
}
