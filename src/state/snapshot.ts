/** Whole-state snapshots: every table as JSON, secondary indexes rebuilt on load. */
import { cmp, type KvRow, nodeKey, type ServiceRow, Tables } from "./tables.ts";
import { checkRow, nodeRow, serviceRow } from "./rows.ts";
import type { HealthCheck, Node } from "../structs/catalog.ts";
import type { CAConfigRow, CARootRow } from "../structs/connect_ca.ts";
import type { AutopilotConfigRow } from "../structs/autopilot.ts";
import type { ACLAuthMethod, ACLBindingRule, ACLPolicyRow, ACLRole, ACLToken } from "../structs/acl.ts";
import { decodeBase64, encodeBase64 } from "../structs/json.ts";
import { type CoordinateEntry, isValidCoordinate } from "../structs/coordinate.ts";
import { coordinateKey } from "./coordinates.ts";
import type { PreparedQuery } from "../structs/prepared_query.ts";
import { type FreeVirtualIp, freeKey, type VirtualIpRow, vipKey } from "./virtual_ips.ts";

interface SnapshotFile {
  Version: 1;
  Index: number;
  Indexes: [string, number][];
  KV: (Omit<KvRow, "Value" | "Flags"> & { Value: string | null; Flags: string })[];
  LockDelay: [string, number][];
  Nodes: unknown[];
  Services: unknown[];
  Checks: unknown[];
  Sessions: unknown[];
  /** Absent in snapshots written before config entries existed. */
  ConfigEntries?: unknown[];
  /** Absent in snapshots written before coordinates existed. */
  Coordinates?: unknown[];
  /** Connect CA; absent in snapshots written before the CA existed. */
  CARoots?: CARootRow[];
  CAConfig?: CAConfigRow[];
  CAMeta?: [string, number][];
  /** Absent in snapshots written before autopilot configuration existed. */
  Autopilot?: AutopilotConfigRow[];
  /** Absent in snapshots written before prepared queries existed. */
  PreparedQueries?: PreparedQuery[];
  /** ACLs; absent in snapshots written before ACLs existed. */
  ACLTokens?: ACLToken[];
  ACLAuthMethods?: ACLAuthMethod[];
  ACLBindingRules?: ACLBindingRule[];
  ACLPolicies?: ACLPolicyRow[];
  ACLRoles?: ACLRole[];
  ACLMeta?: [string, number][];
  /** Service virtual IPs; absent in snapshots written before they existed. */
  VirtualIPs?: VirtualIpRow[];
  FreeVirtualIPs?: FreeVirtualIp[];
}

/**
 * Rows in key order: a Map's order records its history (a rolled-back delete
 * re-inserts at the end), and the same state must give the same bytes.
 */
function byKey<V>(entries: Iterable<[string, V]>): [string, V][] {
  return [...entries].sort((a, b) => cmp(a[0], b[0]));
}

const rows = <V>(entries: Iterable<[string, V]>): V[] => byKey(entries).map(([, v]) => v);

export function encodeSnapshot(t: Tables, index: number): Uint8Array {
  const file: SnapshotFile = {
    Version: 1,
    Index: index,
    Indexes: byKey(t.indexes.entries()),
    KV: rows(t.kvs.entries()).map((r) => ({ ...r, Value: r.Value === null ? null : encodeBase64(r.Value), Flags: r.Flags.toString() })),
    LockDelay: byKey(t.lockDelay.entries()),
    Nodes: rows(t.nodes.entries()),
    Services: rows(t.services.entries()),
    Checks: rows(t.checks.entries()),
    Sessions: rows(t.sessions.entries()),
    ConfigEntries: rows(t.configEntries.entries()),
    Coordinates: rows(t.coordinates.entries()),
    CARoots: rows(t.caRoots.entries()),
    CAConfig: rows(t.caConfig.entries()),
    CAMeta: byKey(t.caMeta.entries()),
    Autopilot: rows(t.autopilot.entries()),
    PreparedQueries: rows(t.preparedQueries.entries()),
    ACLTokens: rows(t.aclTokens.entries()),
    ACLPolicies: rows(t.aclPolicies.entries()),
    ACLRoles: rows(t.aclRoles.entries()),
    ACLMeta: byKey(t.aclMeta.entries()),
    ACLAuthMethods: rows(t.aclAuthMethods.entries()),
    ACLBindingRules: rows(t.aclBindingRules.entries()),
    VirtualIPs: rows(t.virtualIps.entries()),
    FreeVirtualIPs: rows(t.freeVirtualIps.entries()),
  };
  return new TextEncoder().encode(JSON.stringify(file));
}

/**
 * Checks the shape of what a decode relies on, so a snapshot from elsewhere
 * (a restore) is refused whole instead of half-loaded; throws a TypeError
 * or RangeError that names the bad field.
 */
function checkShape(file: unknown): asserts file is SnapshotFile {
  const obj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!obj(file)) throw new TypeError("snapshot is not a JSON object");
  if (file.Version !== 1) throw new RangeError(`Unsupported snapshot version: ${JSON.stringify(file.Version)}`);
  const index = (v: unknown): boolean => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (!index(file.Index)) throw new TypeError(`snapshot Index is ${JSON.stringify(file.Index)}, not an index`);
  const each = (name: string, ok: (row: unknown) => boolean): void => {
    const rows = file[name];
    if (!Array.isArray(rows)) throw new TypeError(`snapshot ${name} is not a list`);
    rows.forEach((row, i) => {
      if (!ok(row)) throw new TypeError(`snapshot ${name}[${i}] is malformed: ${JSON.stringify(row)?.slice(0, 200)}`);
    });
  };
  const pair = (r: unknown): boolean => Array.isArray(r) && r.length === 2 && typeof r[0] === "string" && typeof r[1] === "number";
  const base64 = (v: unknown): boolean => v === null || (typeof v === "string" && decodeBase64(v) !== null);
  each("Indexes", pair);
  each("LockDelay", pair);
  each(
    "KV",
    (r) =>
      obj(r) &&
      typeof r.Key === "string" &&
      base64(r.Value) &&
      typeof r.Flags === "string" &&
      /^\d+$/.test(r.Flags) &&
      index(r.CreateIndex) &&
      index(r.ModifyIndex) &&
      index(r.LockIndex),
  );
  each("Nodes", (r) => obj(r) && typeof r.Node === "string");
  each("Services", (r) => obj(r) && typeof r.Node === "string" && obj(r.Service) && typeof r.Service.ID === "string" && typeof r.Service.Service === "string");
  each("Checks", (r) => obj(r) && typeof r.Node === "string" && typeof r.CheckID === "string");
  if (file.ConfigEntries !== undefined) {
    each("ConfigEntries", (r) => obj(r) && typeof r.Kind === "string" && typeof r.Name === "string" && obj(r.Entry) && index(r.CreateIndex) && index(r.ModifyIndex));
  }
  if (file.Coordinates !== undefined) {
    each("Coordinates", (r) => obj(r) && typeof r.Node === "string" && typeof r.Segment === "string" && obj(r.Coord) && Array.isArray(r.Coord.Vec));
  }
  if (file.PreparedQueries !== undefined) {
    each(
      "PreparedQueries",
      (r) => obj(r) && typeof r.ID === "string" && typeof r.Name === "string" && typeof r.Session === "string" && obj(r.Template) && obj(r.Service) && obj(r.DNS),
    );
  }
  if (file.ACLTokens !== undefined) each("ACLTokens", (r) => obj(r) && typeof r.AccessorID === "string" && typeof r.SecretID === "string" && Array.isArray(r.Policies));
  if (file.ACLPolicies !== undefined) each("ACLPolicies", (r) => obj(r) && typeof r.ID === "string" && typeof r.Name === "string" && obj(r.Parsed));
  if (file.ACLRoles !== undefined) each("ACLRoles", (r) => obj(r) && typeof r.ID === "string" && typeof r.Name === "string" && Array.isArray(r.Policies));
  if (file.ACLMeta !== undefined) each("ACLMeta", pair);
  if (file.ACLAuthMethods !== undefined) each("ACLAuthMethods", (r) => obj(r) && typeof r.Name === "string" && typeof r.Type === "string" && obj(r.Config));
  if (file.ACLBindingRules !== undefined) each("ACLBindingRules", (r) => obj(r) && typeof r.ID === "string" && typeof r.AuthMethod === "string" && typeof r.BindName === "string");
  if (file.VirtualIPs !== undefined) each("VirtualIPs", (r) => obj(r) && typeof r.Service === "string" && r.Service !== "" && index(r.IP) && index(r.CreateIndex) && index(r.ModifyIndex));
  if (file.FreeVirtualIPs !== undefined) each("FreeVirtualIPs", (r) => obj(r) && index(r.IP) && typeof r.IsCounter === "boolean");
  each("Sessions", (r) => obj(r) && typeof r.ID === "string" && typeof r.Node === "string" && Array.isArray(r.NodeChecks) && Array.isArray(r.ServiceChecks));
}

export function decodeSnapshot(data: Uint8Array): { tables: Tables; index: number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(data));
  } catch (err) {
    throw new TypeError(`snapshot is not JSON: ${(err as Error).message}`);
  }
  checkShape(parsed);
  const file = parsed;
  const t = new Tables();
  t.indexes.reset(file.Indexes);
  t.kvs.reset(file.KV.map((r) => [r.Key, { ...r, Value: r.Value === null ? null : decodeBase64(r.Value), Flags: BigInt(r.Flags) }]));
  t.lockDelay.reset(file.LockDelay);
  // Catalog rows are rebuilt as apply builds them (one shape, shared empties).
  t.nodes.reset((file.Nodes as Node[]).map((n) => [n.Node, nodeRow(n, n.CreateIndex, n.ModifyIndex)]));
  t.services.reset((file.Services as ServiceRow[]).map(({ Node, Service: s }) => [nodeKey(Node, s.ID), { Node, Service: serviceRow(s, s.CreateIndex, s.ModifyIndex) }]));
  t.checks.reset((file.Checks as HealthCheck[]).map((c) => [nodeKey(c.Node, c.CheckID), checkRow(c, c.CreateIndex, c.ModifyIndex)]));
  t.sessions.reset((file.Sessions as { ID: string }[]).map((s) => [s.ID, s as never]));
  t.configEntries.reset(((file.ConfigEntries ?? []) as { Kind: string; Name: string }[]).map((e) => [`${e.Kind}\u0000${e.Name}`, e as never]));
  // As Consul's restore does, coordinates a bad client once got in are left out.
  const coords = ((file.Coordinates ?? []) as CoordinateEntry[]).filter((c) => isValidCoordinate(c.Coord));
  t.coordinates.reset(coords.map((c) => [coordinateKey(c.Node, c.Segment), c]));
  t.caRoots.reset((file.CARoots ?? []).map((r) => [r.ID, r]));
  t.caConfig.reset((file.CAConfig ?? []).map((c) => ["config", c]));
  t.caMeta.reset(file.CAMeta ?? []);
  t.autopilot.reset((file.Autopilot ?? []).map((c) => ["config", c]));
  t.preparedQueries.reset((file.PreparedQueries ?? []).map((q) => [q.ID, q]));
  t.aclTokens.reset((file.ACLTokens ?? []).map((r) => [r.AccessorID, r]));
  t.aclPolicies.reset((file.ACLPolicies ?? []).map((r) => [r.ID, r]));
  t.aclRoles.reset((file.ACLRoles ?? []).map((r) => [r.ID, r]));
  t.aclMeta.reset(file.ACLMeta ?? []);
  t.aclAuthMethods.reset((file.ACLAuthMethods ?? []).map((r) => [r.Name, r]));
  t.aclBindingRules.reset((file.ACLBindingRules ?? []).map((r) => [r.ID, r]));
  t.virtualIps.reset((file.VirtualIPs ?? []).map((r) => [vipKey(r.Service), r]));
  t.freeVirtualIps.reset((file.FreeVirtualIPs ?? []).map((r) => [freeKey(r), r]));
  return { tables: t, index: file.Index };
}
