/**
 * The state store's tables and their secondary indexes. Tables change only
 * through `TrackedMap` writes made inside `apply`, which journal every change;
 * the secondary indexes are kept by change hooks, so rollback keeps them right.
 */
import type { HealthCheck, Node, NodeService } from "../structs/catalog.ts";
import type { CoordinateEntry } from "../structs/coordinate.ts";
import type { CAConfigRow, CARootRow } from "../structs/connect_ca.ts";
import type { AutopilotConfigRow } from "../structs/autopilot.ts";
import type { DirEntry } from "../structs/kv.ts";
import type { Session } from "../structs/session.ts";
import type { StoredConfigEntry } from "../configentry/registry.ts";
import type { PreparedQuery } from "../structs/prepared_query.ts";
import type { ACLAuthMethod, ACLBindingRule, ACLPolicyRow, ACLRole, ACLToken } from "../structs/acl.ts";
import { type JournalRef, TrackedMap } from "./journal.ts";
import { SortedKeys } from "./sorted_keys.ts";
import { KeyGroups } from "./key_groups.ts";
import { instanceHealth, ServiceNameIndex } from "./service_index.ts";
import type { FreeVirtualIp, VirtualIpRow } from "./virtual_ips.ts";

/** A KV row; a tombstone keeps a deleted key's index so prefix indexes never go back. */
export interface KvRow extends DirEntry {
  readonly Tombstone?: true;
}

export interface ServiceRow {
  readonly Node: string;
  readonly Service: NodeService;
}

/** Composite key of rows that belong to a node. */
export const nodeKey = (node: string, id: string): string => `${node}\u0000${id}`;

function addTo<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom<K, V>(index: Map<K, Set<V>>, key: K, value: V): void {
  const set = index.get(key);
  if (set) {
    set.delete(value);
    if (set.size === 0) index.delete(key);
  }
}

export class Tables {
  readonly ref: JournalRef = { current: null };

  /** Per-table and per-service modify indexes ("kvs", "nodes", "service.web", ...). */
  readonly indexes = new TrackedMap<string, number>(this.ref);

  readonly kvs = new TrackedMap<string, KvRow>(this.ref);
  readonly kvKeys = new SortedKeys();
  /** Lock-delay expiry (ms since epoch) per key, set when a session holding it is invalidated. */
  readonly lockDelay = new TrackedMap<string, number>(this.ref);

  readonly nodes = new TrackedMap<string, Node>(this.ref);
  readonly services = new TrackedMap<string, ServiceRow>(this.ref);
  readonly checks = new TrackedMap<string, HealthCheck>(this.ref);
  readonly sessions = new TrackedMap<string, Session>(this.ref);
  /** Config entries by `kind\u0000name`. */
  readonly configEntries = new TrackedMap<string, StoredConfigEntry>(this.ref);
  /** Network coordinates by `node\u0000segment`. */
  readonly coordinates = new TrackedMap<string, CoordinateEntry>(this.ref);

  /** Connect CA roots by ID; the single CA configuration under CA_CONFIG_KEY; counters (leaf serials). */
  readonly caRoots = new TrackedMap<string, CARootRow>(this.ref);
  readonly caConfig = new TrackedMap<string, CAConfigRow>(this.ref);
  readonly caMeta = new TrackedMap<string, number>(this.ref);
  /** The single autopilot configuration under AUTOPILOT_KEY. */
  readonly autopilot = new TrackedMap<string, AutopilotConfigRow>(this.ref);
  /** Service virtual IPs by lower-cased service name; freed addresses and the counter (see virtual_ips.ts). */
  readonly virtualIps = new TrackedMap<string, VirtualIpRow>(this.ref);
  readonly freeVirtualIps = new TrackedMap<string, FreeVirtualIp>(this.ref);
  /** Prepared queries by ID. */
  readonly preparedQueries = new TrackedMap<string, PreparedQuery>(this.ref);

  /** ACL tokens by AccessorID, policies and roles by ID; `aclMeta` holds the bootstrap index. */
  readonly aclTokens = new TrackedMap<string, ACLToken>(this.ref);
  readonly aclPolicies = new TrackedMap<string, ACLPolicyRow>(this.ref);
  readonly aclRoles = new TrackedMap<string, ACLRole>(this.ref);
  readonly aclMeta = new TrackedMap<string, number>(this.ref);
  /** Auth methods by Name, binding rules by ID. */
  readonly aclAuthMethods = new TrackedMap<string, ACLAuthMethod>(this.ref);
  readonly aclBindingRules = new TrackedMap<string, ACLBindingRule>(this.ref);
  readonly aclTokenBySecret = new Map<string, string>();
  readonly aclPolicyByName = new Map<string, string>();
  readonly aclRoleByName = new Map<string, string>();

  readonly servicesByNode = new KeyGroups();
  /** Service name -> its instances (ordered keys, tags, healthy sets); see service_index.ts. */
  readonly servicesByName = new ServiceNameIndex();
  /** Node ID -> names of the nodes that carry it (one, unless a restore brought aliases). */
  readonly nodesById = new Map<string, Set<string>>();
  readonly checksByNode = new KeyGroups();
  readonly sessionsByNode = new Map<string, Set<string>>();
  /** check row key -> ids of sessions that depend on it. */
  readonly sessionsByCheck = new Map<string, Set<string>>();
  /** session id -> keys it holds. */
  readonly keysBySession = new Map<string, Set<string>>();
  /** kind -> config entry keys of that kind. */
  readonly configEntriesByKind = new Map<string, Set<string>>();
  /** node -> coordinate keys of that node (one per segment). */
  readonly coordinatesByNode = new Map<string, Set<string>>();
  /**
   * Node names, and service and check IDs within a node, match case-insensitively
   * (Consul's memdb indexes lower-case them): lower-cased name or `node\u0000id` -> stored key,
   * kept only for keys that are not lower-case already (most are; the table
   * itself answers for those), which saves two map entries per instance.
   */
  readonly nodeByLower = new Map<string, string>();
  readonly serviceByLower = new Map<string, string>();
  readonly checkByLower = new Map<string, string>();
  /** lower-cased query name -> query ID. */
  readonly queriesByName = new Map<string, string>();
  /** lower-cased template name (the prefix it answers) -> query ID. */
  readonly queryTemplates = new Map<string, string>();
  /** session -> IDs of the queries bound to it. */
  readonly queriesBySession = new Map<string, Set<string>>();

  constructor() {
    this.kvs.onChange((key, before, after) => {
      if (!before) this.kvKeys.add(key);
      if (!after) this.kvKeys.remove(key);
      if (before?.Session) removeFrom(this.keysBySession, before.Session, key);
      if (after?.Session) addTo(this.keysBySession, after.Session, key);
    });
    const folded = (index: Map<string, string>) => (key: string, before: unknown, after: unknown) => {
      const lower = key.toLowerCase();
      if (lower === key) return;
      if (before && !after && index.get(lower) === key) index.delete(lower);
      if (after) index.set(lower, key);
    };
    const nodeFolded = folded(this.nodeByLower);
    const serviceFolded = folded(this.serviceByLower);
    const checkFolded = folded(this.checkByLower);
    this.nodes.onChange((name, before, after) => {
      nodeFolded(name, before, after);
      if (before && before.ID !== "") removeFrom(this.nodesById, before.ID, name);
      if (after && after.ID !== "") addTo(this.nodesById, after.ID, name);
    });
    this.services.onChange((key, before, after) => {
      serviceFolded(key, before, after);
      if (before) {
        this.servicesByNode.remove(before.Node, key);
        this.servicesByName.remove(before.Service.Service, key, before.Service.Tags);
      }
      if (after) {
        this.servicesByNode.add(after.Node, key);
        this.servicesByName.add(after.Service.Service, key, after.Service.Tags);
        this.refreshHealth(key);
      }
    });
    this.checks.onChange((key, before, after) => {
      checkFolded(key, before, after);
      if (before) this.checksByNode.remove(before.Node, key);
      if (after) this.checksByNode.add(after.Node, key);
      const c = after ?? before!;
      if (c.ServiceID !== "") this.refreshHealth(nodeKey(c.Node, c.ServiceID));
      else for (const k of this.servicesByNode.get(c.Node) ?? []) this.refreshHealth(k);
    });
    this.configEntries.onChange((key, before, after) => {
      if (before) removeFrom(this.configEntriesByKind, before.Kind, key);
      if (after) addTo(this.configEntriesByKind, after.Kind, key);
    });
    this.coordinates.onChange((key, before, after) => {
      if (before) removeFrom(this.coordinatesByNode, before.Node, key);
      if (after) addTo(this.coordinatesByNode, after.Node, key);
    });
    this.preparedQueries.onChange((id, before, after) => {
      if (before) {
        if (before.Name !== "") this.queriesByName.delete(before.Name.toLowerCase());
        if (before.Template.Type !== "") this.queryTemplates.delete(before.Name.toLowerCase());
        if (before.Session !== "") removeFrom(this.queriesBySession, before.Session, id);
      }
      if (after) {
        if (after.Name !== "") this.queriesByName.set(after.Name.toLowerCase(), id);
        if (after.Template.Type !== "") this.queryTemplates.set(after.Name.toLowerCase(), id);
        if (after.Session !== "") addTo(this.queriesBySession, after.Session, id);
      }
    });
    const unique = <V>(index: Map<string, string>, field: (v: V) => string) => (key: string, before: V | undefined, after: V | undefined) => {
      if (before && index.get(field(before)) === key) index.delete(field(before));
      if (after) index.set(field(after), key);
    };
    this.aclTokens.onChange(unique<ACLToken>(this.aclTokenBySecret, (v) => v.SecretID));
    this.aclPolicies.onChange(unique<ACLPolicyRow>(this.aclPolicyByName, (v) => v.Name));
    this.aclRoles.onChange(unique<ACLRole>(this.aclRoleByName, (v) => v.Name));
    this.sessions.onChange((id, before, after) => {
      if (before) {
        removeFrom(this.sessionsByNode, before.Node, id);
        for (const c of sessionCheckKeys(before)) removeFrom(this.sessionsByCheck, c, id);
      }
      if (after) {
        addTo(this.sessionsByNode, after.Node, id);
        for (const c of sessionCheckKeys(after)) addTo(this.sessionsByCheck, c, id);
      }
    });
  }

  /** Re-files one instance in its name's healthy sets from its node's and its own checks. */
  private refreshHealth(key: string): void {
    const row = this.services.get(key);
    if (!row) return;
    const checks = this.checksByNode.get(row.Node);
    const health = instanceHealth(checks ? this.checkRows(checks) : [], row.Service.ID);
    this.servicesByName.setHealth(row.Service.Service, key, health);
  }

  private *checkRows(keys: Iterable<string>): Generator<HealthCheck> {
    for (const k of keys) {
      const c = this.checks.get(k);
      if (c) yield c;
    }
  }

  /** The stored spelling of a node name (matched case-insensitively); the name as given when unknown. */
  nodeName(name: string): string {
    return storedKey(this.nodeByLower, this.nodes, name.toLowerCase()) ?? name;
  }

  /** The stored ID of a service of a (stored) node, matched case-insensitively; the ID as given when unknown. */
  serviceId(node: string, id: string): string {
    const key = storedKey(this.serviceByLower, this.services, nodeKey(node, id).toLowerCase());
    return key === undefined ? id : this.services.get(key)!.Service.ID;
  }

  /** The stored ID of a check of a (stored) node, matched case-insensitively; the ID as given when unknown. */
  checkId(node: string, id: string): string {
    const key = storedKey(this.checkByLower, this.checks, nodeKey(node, id).toLowerCase());
    return key === undefined ? id : this.checks.get(key)!.CheckID;
  }

  index(table: string): number {
    return this.indexes.get(table) ?? 0;
  }

  /** Largest of several table indexes. */
  maxIndex(...tables: string[]): number {
    let max = 0;
    for (const t of tables) max = Math.max(max, this.index(t));
    return max;
  }

  servicesOfNode(node: string): ServiceRow[] {
    const keys = this.servicesByNode.get(node);
    if (!keys) return [];
    return [...keys].map((k) => this.services.get(k)!).sort((a, b) => cmp(a.Service.ID, b.Service.ID));
  }

  checksOfNode(node: string): HealthCheck[] {
    const keys = this.checksByNode.get(node);
    if (!keys) return [];
    return [...keys].map((k) => this.checks.get(k)!).sort((a, b) => cmp(a.CheckID, b.CheckID));
  }

  /** A service's instances in (Node, ServiceID) order. */
  instancesOf(serviceName: string): ServiceRow[] {
    const keys = this.servicesByName.sortedKeys(serviceName);
    const out = new Array<ServiceRow>(keys.length);
    for (let i = 0; i < keys.length; i++) out[i] = this.services.get(keys[i]!)!;
    return out;
  }
}

/** The stored key that folds to `lower`: a mixed-case one from the index, else `lower` itself when stored. */
function storedKey(index: Map<string, string>, table: { has(key: string): boolean }, lower: string): string | undefined {
  return index.get(lower) ?? (table.has(lower) ? lower : undefined);
}

export function sessionCheckKeys(s: Session): string[] {
  return [...s.NodeChecks.map((c) => nodeKey(s.Node, c)), ...s.ServiceChecks.map((c) => nodeKey(s.Node, c.ID))];
}

export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
