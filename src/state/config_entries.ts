/**
 * Config entries table (Consul's state/config_entry.go): one row per (Kind,
 * Name) with CreateIndex/ModifyIndex. Writes check the entries as a graph
 * against the state they would produce, and intention mutations (the
 * `/v1/connect/intentions` API since Consul 1.9) edit `service-intentions`
 * entries here, inside `apply`, so every replica decides the same way.
 */
import type { ConfigEntryCommand, IntentionMutation } from "./commands.ts";
import { bump, StateError, touch, type WriteContext } from "./context.ts";
import type { Tables } from "./tables.ts";
import { ensureService } from "./catalog.ts";
import { assignVirtualIp, linkedServices, releaseVirtualIp } from "./virtual_ips.ts";
import { type EntryLookup, GraphError, validateInGraph } from "../configentry/graph.ts";
import { legacyIdsAllSet } from "../configentry/intention_view.ts";
import { normalizeIntentions, validateIntentions } from "../configentry/kinds/intentions.ts";
import { arr, type EntryBody, EntryValidationError, type Obj, s } from "../configentry/kinds/kind.ts";
import type { StoredConfigEntry } from "../configentry/registry.ts";

export const CONFIG_TABLE = "config-entries";

export const configKey = (kind: string, name: string): string => `${kind}\u0000${name}`;
/** Watch topic of every entry of one kind (a single entry's readers watch it too). */
export const configKindTopic = (kind: string): string => `cfg:${kind}`;

export function configLookup(t: Tables): EntryLookup {
  return {
    get: (kind, name) => t.configEntries.get(configKey(kind, name))?.Entry,
    list: (kind) => [...(t.configEntriesByKind.get(kind) ?? [])].map((k) => t.configEntries.get(k)!.Entry),
  };
}

function clone<T>(v: T): T {
  return JSON.parse(JSON.stringify(v)) as T;
}

/**
 * Consul's ServiceIntentionsConfigEntry.UpdateOver: a write may not add or
 * change a legacy ID on a source that already exists, and a legacy source
 * keeps its original creation time.
 */
function intentionsUpdateOver(next: EntryBody, prev: EntryBody): void {
  const prevByName = new Map<string, Obj>();
  const prevById = new Map<string, Obj>();
  for (const src of arr(prev, "Sources")) {
    prevByName.set(`${s(src, "Peer")}\u0000${s(src, "Name")}`, src);
    if (s(src, "LegacyID") !== "") prevById.set(s(src, "LegacyID"), src);
  }
  arr(next, "Sources").forEach((src, i) => {
    const id = s(src, "LegacyID");
    if (id === "") return;
    const same = prevByName.get(`${s(src, "Peer")}\u0000${s(src, "Name")}`);
    if (same) {
      if (s(same, "LegacyID") === "") throw new StateError(`Sources[${i}].LegacyID: cannot set this field`);
      if (s(same, "LegacyID") !== id) throw new StateError(`Sources[${i}].LegacyID: cannot set this field to a different value`);
    }
    const old = prevById.get(id);
    if (old && typeof old.LegacyCreateTime === "string") src.LegacyCreateTime = old.LegacyCreateTime;
  });
}

/** Kinds whose Status belongs to the gateway controller (Consul's ControlledConfigEntry). */
const CONTROLLED_KINDS = new Set(["api-gateway", "http-route", "tcp-route"]);

/** Upserts an entry: keeps CreateIndex, runs the graph checks, bumps the table. */
function ensureEntry(ctx: WriteContext, entry: EntryBody, keepStatus = true): void {
  const key = configKey(entry.Kind, entry.Name);
  const existing = ctx.t.configEntries.get(key);
  if (existing && entry.Kind === "service-intentions") intentionsUpdateOver(entry, existing.Entry);
  // A user's write never sets the status: the stored one stays (none for a new entry).
  if (keepStatus && CONTROLLED_KINDS.has(entry.Kind)) entry.Status = existing?.Entry.Status ?? {};
  try {
    validateInGraph(configLookup(ctx.t), entry.Kind, entry.Name, entry, existing?.Entry ?? null);
  } catch (err) {
    if (err instanceof GraphError) throw new StateError(err.message);
    throw err;
  }
  const linkedBefore = entry.Kind === "terminating-gateway" ? linkedServices(ctx.t, entry.Name) : [];
  ctx.t.configEntries.set(key, {
    Kind: entry.Kind,
    Name: entry.Name,
    Entry: entry,
    CreateIndex: existing?.CreateIndex ?? ctx.index,
    ModifyIndex: ctx.index,
  });
  bump(ctx, CONFIG_TABLE);
  touch(ctx, configKindTopic(entry.Kind), configKindTopic("")); // "" wakes lists of every kind
  if (ROUTING_KINDS.has(entry.Kind)) assignVirtualIp(ctx, entry.Name);
  if (entry.Kind === "terminating-gateway") gatewayLinksChanged(ctx, entry.Name, linkedBefore);
}

/** Kinds whose entry gets its service a virtual IP (Consul's insertConfigEntryWithTxn). */
const ROUTING_KINDS = new Set(["service-resolver", "service-router", "service-splitter"]);
/** Kinds whose entry keeps its service's virtual IP: deleting one may free it. */
const HOLDING_KINDS = new Set([...ROUTING_KINDS, "service-defaults", "service-intentions"]);

/**
 * A terminating gateway's links changed (Consul's updateTerminatingGatewayVirtualIPs):
 * its instances are stored again with one `consul-virtual:<service>` address
 * per link, and the services it no longer links may give theirs back.
 */
function gatewayLinksChanged(ctx: WriteContext, gateway: string, before: readonly string[]): void {
  for (const row of ctx.t.instancesOf(gateway)) {
    if (row.Service.Kind !== "terminating-gateway") continue;
    const { CreateIndex: _c, ModifyIndex: _m, ...svc } = row.Service;
    ensureService(ctx, row.Node, svc);
  }
  const now = new Set(linkedServices(ctx.t, gateway));
  for (const name of before) if (!now.has(name)) releaseVirtualIp(ctx, name, gateway);
}

function deleteEntry(ctx: WriteContext, kind: string, name: string): void {
  const key = configKey(kind, name);
  const existing = ctx.t.configEntries.get(key);
  if (!existing) return;
  try {
    validateInGraph(configLookup(ctx.t), kind, name, null, existing.Entry);
  } catch (err) {
    if (err instanceof GraphError) throw new StateError(err.message);
    throw err;
  }
  const linkedBefore = kind === "terminating-gateway" ? linkedServices(ctx.t, name) : [];
  ctx.t.configEntries.delete(key);
  bump(ctx, CONFIG_TABLE);
  touch(ctx, configKindTopic(kind), configKindTopic(""));
  if (HOLDING_KINDS.has(kind)) releaseVirtualIp(ctx, name);
  if (kind === "terminating-gateway") gatewayLinksChanged(ctx, name, linkedBefore);
}

/**
 * upsert / upsert-cas / delete / delete-cas. CAS with index 0 means "only if
 * absent"; otherwise the entry's ModifyIndex must equal it. Returns whether
 * the write took effect.
 */
export function applyConfigEntry(ctx: WriteContext, cmd: ConfigEntryCommand): boolean {
  const entry = clone(cmd.Entry);
  const existing = ctx.t.configEntries.get(configKey(entry.Kind, entry.Name));
  switch (cmd.Op) {
    case "upsert":
      ensureEntry(ctx, entry);
      return true;
    case "upsert-cas": {
      const cas = cmd.Index ?? 0;
      if (cas === 0 ? existing !== undefined : existing?.ModifyIndex !== cas) return false;
      ensureEntry(ctx, entry);
      return true;
    }
    case "delete":
      deleteEntry(ctx, entry.Kind, entry.Name);
      return true;
    case "delete-cas":
      if (!existing || existing.ModifyIndex !== (cmd.Index ?? 0)) return false;
      deleteEntry(ctx, entry.Kind, entry.Name);
      return true;
    case "upsert-status-cas": {
      if (!existing || existing.ModifyIndex !== (cmd.Index ?? 0) || !CONTROLLED_KINDS.has(entry.Kind)) return false;
      const next = clone(existing.Entry);
      next.Status = entry.Status ?? {};
      ensureEntry(ctx, next, false);
      return true;
    }
  }
}

// ---- intention mutations (Consul's state/intention.go IntentionMutation) ----

function intentionsEntry(t: Tables, destination: string): StoredConfigEntry | undefined {
  return t.configEntries.get(configKey("service-intentions", destination));
}

/** The entry holding a legacy intention ID, and the source's position. */
export function findLegacyIntention(t: Tables, id: string): { row: StoredConfigEntry; index: number } | null {
  for (const key of t.configEntriesByKind.get("service-intentions") ?? []) {
    const row = t.configEntries.get(key)!;
    const index = arr(row.Entry, "Sources").findIndex((src) => s(src, "LegacyID") === id);
    if (index >= 0) return { row, index };
  }
  return null;
}

function checkLegacyAllowed(prev: EntryBody): void {
  if (!legacyIdsAllSet(prev)) {
    throw new StateError(
      `cannot use legacy intention API to edit intentions with a destination of ${JSON.stringify(prev.Name)} after editing them via a service-intentions config entry`,
    );
  }
}

/** Normalize + validate inside apply; a refusal becomes the command's error. */
function settle(entry: EntryBody, legacy: boolean): void {
  try {
    normalizeIntentions(entry, legacy);
    validateIntentions(entry, legacy);
  } catch (err) {
    if (err instanceof EntryValidationError) throw new StateError(err.message);
    throw err;
  }
}

export function applyIntentionMutation(ctx: WriteContext, m: IntentionMutation): boolean {
  switch (m.Op) {
    case "create": {
      const prev = intentionsEntry(ctx.t, m.Destination);
      let next: EntryBody;
      if (prev) {
        checkLegacyAllowed(prev.Entry);
        next = clone(prev.Entry);
        (next.Sources as Obj[]).push(clone(m.Value));
      } else {
        next = { Kind: "service-intentions", Name: m.Destination, Sources: [clone(m.Value)] };
      }
      settle(next, true);
      ensureEntry(ctx, next);
      return true;
    }
    case "update": {
      const found = findLegacyIntention(ctx.t, m.ID);
      if (!found) throw new StateError(`Cannot modify non-existent intention: '${m.ID}'`);
      checkLegacyAllowed(found.row.Entry);
      const next = clone(found.row.Entry);
      (next.Sources as Obj[])[found.index] = clone(m.Value);
      settle(next, true);
      ensureEntry(ctx, next);
      return true;
    }
    case "upsert": {
      const prev = intentionsEntry(ctx.t, m.Destination);
      let next: EntryBody;
      if (prev) {
        next = clone(prev.Entry);
        const sources = next.Sources as Obj[];
        const i = sources.findIndex((src) => s(src, "Peer") === "" && s(src, "Name") === m.Source);
        if (i >= 0) sources[i] = clone(m.Value);
        else sources.push(clone(m.Value));
      } else {
        next = { Kind: "service-intentions", Name: m.Destination, Sources: [clone(m.Value)] };
      }
      settle(next, false);
      ensureEntry(ctx, next);
      return true;
    }
    case "delete": {
      const prev = intentionsEntry(ctx.t, m.Destination);
      if (!prev) return true;
      const next = clone(prev.Entry);
      const sources = (next.Sources as Obj[]).filter((src) => !(s(src, "Peer") === "" && s(src, "Name") === m.Source));
      if (sources.length === (next.Sources as Obj[]).length) return true;
      if (sources.length === 0) {
        deleteEntry(ctx, "service-intentions", m.Destination);
        return true;
      }
      next.Sources = sources;
      settle(next, false);
      ensureEntry(ctx, next);
      return true;
    }
    case "delete-id": {
      const found = findLegacyIntention(ctx.t, m.ID);
      if (!found) throw new StateError(`Cannot delete non-existent intention: '${m.ID}'`);
      checkLegacyAllowed(found.row.Entry);
      const next = clone(found.row.Entry);
      (next.Sources as Obj[]).splice(found.index, 1);
      if ((next.Sources as Obj[]).length === 0) {
        deleteEntry(ctx, "service-intentions", found.row.Name);
        return true;
      }
      settle(next, true);
      ensureEntry(ctx, next);
      return true;
    }
  }
}

// ---- reads ----

export function configEntryGet(t: Tables, kind: string, name: string): { index: number; value: StoredConfigEntry | null } {
  return { index: t.index(CONFIG_TABLE), value: t.configEntries.get(configKey(kind, name)) ?? null };
}

/** Entries of one kind (or all when kind is ""), by name. */
export function configEntryList(t: Tables, kind: string): { index: number; value: StoredConfigEntry[] } {
  const keys = kind === "" ? [...t.configEntries.keys()] : [...(t.configEntriesByKind.get(kind) ?? [])];
  const rows = keys.map((k) => t.configEntries.get(k)!);
  rows.sort((a, b) => (a.Kind < b.Kind ? -1 : a.Kind > b.Kind ? 1 : a.Name < b.Name ? -1 : a.Name > b.Name ? 1 : 0));
  return { index: t.index(CONFIG_TABLE), value: rows };
}
