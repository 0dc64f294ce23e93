/**
 * Connect CA state: the roots (one active), the CA configuration, and the
 * serial-number counter (Consul's CARoots / CAConfig / provider serial).
 * Every value arrives fully made inside the command; apply checks CAS
 * indexes and stores, so replicas agree byte for byte.
 */
import type { ConnectCAOp } from "./commands.ts";
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import { cmp, type Tables } from "./tables.ts";
import { Topic } from "./watch.ts";
import type { CAConfigBody, CAConfigRow, CARootBody, CARootRow } from "../structs/connect_ca.ts";

export const CA_ROOTS_TABLE = "connect-ca-roots";
export const CA_CONFIG_TABLE = "connect-ca-config";
export const CA_SERIAL_TABLE = "connect-ca-serial";
export const CA_CONFIG_KEY = "config";
const SERIAL_KEY = "serial";

export function applyConnectCA(ctx: WriteContext, op: ConnectCAOp): boolean | string {
  switch (op.Op) {
    case "set-config":
      setConfig(ctx, op.Config);
      return true;
    case "set-roots":
      if (ctx.t.index(CA_ROOTS_TABLE) !== op.Index) return false;
      setRoots(ctx, op.Roots);
      return true;
    case "set-roots-config":
      if (ctx.t.index(CA_ROOTS_TABLE) !== op.Index) return false;
      setRoots(ctx, op.Roots);
      setConfig(ctx, op.Config);
      return true;
    case "increment-serial": {
      const next = (ctx.t.caMeta.get(SERIAL_KEY) ?? 0) + 1;
      ctx.t.caMeta.set(SERIAL_KEY, next);
      bump(ctx, CA_SERIAL_TABLE);
      return String(next);
    }
    default:
      throw new StateError(`Invalid CA operation "${(op as { Op: unknown }).Op}"`);
  }
}

function setConfig(ctx: WriteContext, body: CAConfigBody): void {
  const existing = ctx.t.caConfig.get(CA_CONFIG_KEY);
  if (existing && existing.ClusterID !== "" && body.ClusterID !== existing.ClusterID) {
    // The trust domain is fixed for the life of a cluster.
    throw new StateError("CA ClusterID cannot be changed");
  }
  const row: CAConfigRow = { ...body, CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index };
  ctx.t.caConfig.set(CA_CONFIG_KEY, row);
  bump(ctx, CA_CONFIG_TABLE);
  touch(ctx, Topic.CAConfig);
}

function setRoots(ctx: WriteContext, roots: CARootBody[]): void {
  const active = roots.filter((r) => r.Active).length;
  if (active > 1) throw new StateError("multiple active root CAs");
  const ids = new Set<string>();
  for (const r of roots) {
    if (r.ID === "") throw new StateError("missing CA root ID");
    if (ids.has(r.ID)) throw new StateError(`duplicate CA root ID ${r.ID}`);
    ids.add(r.ID);
  }
  for (const id of [...ctx.t.caRoots.keys()]) if (!ids.has(id)) ctx.t.caRoots.delete(id);
  for (const r of roots) {
    const existing = ctx.t.caRoots.get(r.ID);
    ctx.t.caRoots.set(r.ID, { ...r, IntermediateCerts: [...r.IntermediateCerts], CreateIndex: existing?.CreateIndex ?? ctx.index, ModifyIndex: ctx.index });
  }
  bump(ctx, CA_ROOTS_TABLE);
  touch(ctx, Topic.CARoots);
}

// ---- reads ----

/** Roots oldest first (by CreateIndex), as Consul lists them. */
export function caRoots(t: Tables): { index: number; value: CARootRow[] } {
  const rows = [...t.caRoots.values()].sort((a, b) => a.CreateIndex - b.CreateIndex || cmp(a.ID, b.ID));
  return { index: t.index(CA_ROOTS_TABLE), value: rows };
}

export function caActiveRoot(t: Tables): CARootRow | null {
  for (const r of t.caRoots.values()) if (r.Active) return r;
  return null;
}

export function caConfig(t: Tables): { index: number; value: CAConfigRow | null } {
  return { index: t.index(CA_CONFIG_TABLE), value: t.caConfig.get(CA_CONFIG_KEY) ?? null };
}

export function caSerial(t: Tables): number {
  return t.caMeta.get(SERIAL_KEY) ?? 0;
}
