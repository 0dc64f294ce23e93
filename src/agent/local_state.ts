/**
 * The agent's own services and checks (Consul's agent/local.State): the
 * source of truth that anti-entropy pushes to the catalog. Each entry carries
 * whether the catalog already matches it; removals stay as tombstones until
 * the catalog has forgotten them too.
 */
import type { HealthCheck, NodeService } from "../structs/catalog.ts";
import { WatchHub } from "../state/watch.ts";

export type ServiceDef = Omit<NodeService, "CreateIndex" | "ModifyIndex">;
export type CheckDef = Omit<HealthCheck, "CreateIndex" | "ModifyIndex" | "Node">;

export interface LocalService {
  readonly service: ServiceDef;
  readonly token: string;
  inSync: boolean;
  deleted: boolean;
}

export interface LocalCheck {
  check: CheckDef;
  readonly token: string;
  inSync: boolean;
  deleted: boolean;
  /** When the check last turned critical (ms), for DeregisterCriticalServiceAfter. */
  criticalSince: number | null;
  /** An output-only change waiting for check_update_interval before it syncs. */
  deferredUntil: number | null;
}

export const LocalTopic = { Services: "agent:services", Checks: "agent:checks" } as const;

export class LocalState {
  readonly services = new Map<string, LocalService>();
  readonly checks = new Map<string, LocalCheck>();
  /** Node-level sync (address, meta) needed. */
  nodeInSync = false;
  readonly hub = new WatchHub();
  /** Bumped on every change; lets hash-blocking readers and tests see movement. */
  generation = 0;
  private readonly listeners = new Set<() => void>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Called after every change that the catalog should learn about. */
  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(topic: string): void {
    this.generation++;
    this.hub.fire(topic);
    for (const fn of this.listeners) fn();
  }

  liveServices(): ServiceDef[] {
    return [...this.services.values()].filter((s) => !s.deleted).map((s) => s.service);
  }

  liveChecks(): CheckDef[] {
    return [...this.checks.values()].filter((c) => !c.deleted).map((c) => c.check);
  }

  service(id: string): ServiceDef | null {
    const s = this.services.get(id);
    return s && !s.deleted ? s.service : null;
  }

  check(id: string): LocalCheck | null {
    const c = this.checks.get(id);
    return c && !c.deleted ? c : null;
  }

  checksOfService(serviceId: string): CheckDef[] {
    return this.liveChecks().filter((c) => c.ServiceID === serviceId);
  }

  addService(service: ServiceDef, token = ""): void {
    this.services.set(service.ID, { service, token, inSync: false, deleted: false });
    // Checks carry the service's name and tags.
    for (const c of this.checks.values()) {
      if (!c.deleted && c.check.ServiceID === service.ID) {
        c.check = { ...c.check, ServiceName: service.Service, ServiceTags: service.Tags };
        c.inSync = false;
      }
    }
    this.changed(LocalTopic.Services);
  }

  /** Marks a service (and its checks) for removal; false when unknown. */
  removeService(id: string): boolean {
    const s = this.services.get(id);
    if (!s || s.deleted) return false;
    s.deleted = true;
    s.inSync = false;
    for (const [checkId, c] of this.checks) if (!c.deleted && c.check.ServiceID === id) this.markCheckDeleted(checkId);
    this.changed(LocalTopic.Services);
    this.hub.fire(LocalTopic.Checks);
    return true;
  }

  addCheck(check: CheckDef, token = ""): void {
    const svc = check.ServiceID !== "" ? this.service(check.ServiceID) : null;
    const full: CheckDef = svc ? { ...check, ServiceName: svc.Service, ServiceTags: svc.Tags } : check;
    this.checks.set(check.CheckID, {
      check: full,
      token,
      inSync: false,
      deleted: false,
      criticalSince: full.Status === "critical" ? this.now() : null,
      deferredUntil: null,
    });
    this.changed(LocalTopic.Checks);
  }

  removeCheck(id: string): boolean {
    const c = this.checks.get(id);
    if (!c || c.deleted) return false;
    this.markCheckDeleted(id);
    this.changed(LocalTopic.Checks);
    return true;
  }

  private markCheckDeleted(id: string): void {
    const c = this.checks.get(id)!;
    c.deleted = true;
    c.inSync = false;
  }

  /**
   * Records a check result. A status change syncs at once; an output-only
   * change waits `deferMs` (Consul's check_update_interval) to spare the servers.
   */
  updateCheck(id: string, status: string, output: string, deferMs = 0): boolean {
    const c = this.check(id);
    if (!c) return false;
    if (c.check.Status === status && c.check.Output === output) return true;
    const statusChanged = c.check.Status !== status;
    if (statusChanged) c.criticalSince = status === "critical" ? this.now() : null;
    c.check = { ...c.check, Status: status, Output: output };
    if (statusChanged || deferMs <= 0) {
      c.inSync = false;
      c.deferredUntil = null;
    } else if (c.inSync && c.deferredUntil === null) {
      c.deferredUntil = this.now() + deferMs;
    }
    this.changed(LocalTopic.Checks);
    return true;
  }

  /** Turns due deferred output updates into pending syncs; returns the next due time. */
  releaseDeferred(): number | null {
    let next: number | null = null;
    const now = this.now();
    for (const c of this.checks.values()) {
      if (c.deferredUntil === null) continue;
      if (c.deferredUntil <= now) {
        c.deferredUntil = null;
        c.inSync = false;
      } else {
        next = next === null ? c.deferredUntil : Math.min(next, c.deferredUntil);
      }
    }
    return next;
  }

  /** Drops tombstones the catalog no longer has. */
  forgetService(id: string): void {
    const s = this.services.get(id);
    if (s?.deleted) this.services.delete(id);
  }

  forgetCheck(id: string): void {
    const c = this.checks.get(id);
    if (c?.deleted) this.checks.delete(id);
  }

  allInSync(): boolean {
    if (!this.nodeInSync) return false;
    for (const s of this.services.values()) if (!s.inSync) return false;
    for (const c of this.checks.values()) if (!c.inSync) return false;
    return true;
  }
}
