/**
 * The bridge between `service-intentions` config entries and the flattened
 * intentions of `/v1/connect/intentions` (Consul's ToIntention and
 * ToSourceIntention), plus the legacy intention checks (Intention.Validate).
 */
import { arr, type EntryBody, META_KEY_MAX_LENGTH, META_MAX_KEY_PAIRS, META_VALUE_MAX_LENGTH, type Obj, s, smap } from "./kinds/kind.ts";
import type { StoredConfigEntry } from "./registry.ts";
import { DEFAULT_NAMESPACE, type Intention, type IntentionAction, type IntentionPermission, WILDCARD } from "../structs/intention.ts";

/** One source of an entry as an intention; legacy sources keep their ID, meta and times. */
export function toIntention(row: StoredConfigEntry, src: Obj): Intention {
  const legacyId = s(src, "LegacyID");
  const meta = legacyId !== "" ? smap(src, "LegacyMeta") : (row.Entry.Meta as Record<string, string> | undefined);
  const out: Intention = {
    ...(legacyId !== "" ? { ID: legacyId } : {}),
    ...(s(src, "Description") !== "" ? { Description: s(src, "Description") } : {}),
    ...(s(src, "Peer") !== "" ? { SourcePeer: s(src, "Peer") } : {}),
    ...(s(src, "SamenessGroup") !== "" ? { SourceSamenessGroup: s(src, "SamenessGroup") } : {}),
    SourceNS: DEFAULT_NAMESPACE,
    SourceName: s(src, "Name"),
    DestinationNS: DEFAULT_NAMESPACE,
    DestinationName: row.Name,
    SourceType: s(src, "Type"),
    ...(s(src, "Action") !== "" ? { Action: s(src, "Action") as IntentionAction } : {}),
    ...(arr(src, "Permissions").length > 0 ? { Permissions: src.Permissions as IntentionPermission[] } : {}),
    ...(row.Entry.JWT ? { JWT: row.Entry.JWT as Intention["JWT"] } : {}),
    ...(meta && Object.keys(meta).length > 0 ? { Meta: meta } : legacyId !== "" ? { Meta: {} } : {}),
    Precedence: typeof src.Precedence === "number" ? src.Precedence : 0,
    ...(typeof src.LegacyCreateTime === "string" ? { CreatedAt: src.LegacyCreateTime } : {}),
    ...(typeof src.LegacyUpdateTime === "string" ? { UpdatedAt: src.LegacyUpdateTime } : {}),
    CreateIndex: row.CreateIndex,
    ModifyIndex: row.ModifyIndex,
  };
  return out;
}

export function toIntentions(row: StoredConfigEntry): Intention[] {
  return arr(row.Entry, "Sources").map((src) => toIntention(row, src));
}

/** What a request body says about an intention (decoded leniently, as encoding/json does). */
export interface IntentionInput {
  ID: string;
  Description: string;
  SourceName: string;
  SourceNS: string;
  SourcePeer: string;
  SourcePartition: string;
  DestinationName: string;
  DestinationNS: string;
  DestinationPartition: string;
  SourceType: string;
  Action: string;
  Permissions: Obj[] | undefined;
  Meta: Record<string, string>;
}

/** Consul's ToSourceIntention: the source entry an intention becomes; legacy ones carry ID, meta and times. */
export function toSourceIntention(ixn: IntentionInput, legacy: boolean, now: string): Obj {
  const src: Obj = { Name: ixn.SourceName, Type: ixn.SourceType, Precedence: 0 };
  if (ixn.Action !== "") src.Action = ixn.Action;
  if (ixn.Permissions && ixn.Permissions.length > 0) src.Permissions = ixn.Permissions;
  if (ixn.Description !== "") src.Description = ixn.Description;
  if (ixn.SourcePeer !== "") src.Peer = ixn.SourcePeer;
  if (legacy) {
    src.LegacyID = ixn.ID;
    src.LegacyMeta = { ...ixn.Meta };
    src.LegacyCreateTime = now;
    src.LegacyUpdateTime = now;
  }
  return src;
}

/** Consul's (legacy) Intention.Validate: every problem, empty when valid. */
export function legacyIntentionProblems(x: IntentionInput): string[] {
  const out: string[] = [];
  if (x.SourceNS === "") out.push("SourceNS must be set");
  if (x.SourceName === "") out.push("SourceName must be set");
  if (x.DestinationNS === "") out.push("DestinationNS must be set");
  if (x.DestinationName === "") out.push("DestinationName must be set");
  const partial = (v: string) => v !== WILDCARD && v.includes(WILDCARD);
  if (partial(x.SourceNS)) out.push("SourceNS: wildcard character '*' cannot be used with partial values");
  if (partial(x.SourceName)) out.push("SourceName: wildcard character '*' cannot be used with partial values");
  if (x.SourceName !== WILDCARD && x.SourceNS === WILDCARD) out.push("SourceName: exact value cannot follow wildcard namespace");
  if (partial(x.DestinationNS)) out.push("DestinationNS: wildcard character '*' cannot be used with partial values");
  if (partial(x.DestinationName)) out.push("DestinationName: wildcard character '*' cannot be used with partial values");
  if (x.DestinationName !== WILDCARD && x.DestinationNS === WILDCARD) out.push("DestinationName: exact value cannot follow wildcard namespace");
  if (x.Description.length > META_VALUE_MAX_LENGTH) out.push(`Description exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
  const keys = Object.keys(x.Meta);
  if (keys.length > META_MAX_KEY_PAIRS) out.push(`Meta exceeds maximum element count ${META_MAX_KEY_PAIRS}`);
  for (const k of keys) {
    if (k.length > META_KEY_MAX_LENGTH) out.push(`Meta key ${JSON.stringify(k)} exceeds maximum length ${META_KEY_MAX_LENGTH}`);
    if ((x.Meta[k] ?? "").length > META_VALUE_MAX_LENGTH) out.push(`Meta value for key ${JSON.stringify(k)} exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
  }
  if (x.Action !== "allow" && x.Action !== "deny") out.push("Action must be set to 'allow' or 'deny'");
  if (x.SourceType !== "consul") out.push("SourceType must be set to 'consul'");
  return out;
}

/** Whether every source of an entry came from the legacy API (Consul's LegacyIDFieldsAreAllSet). */
export function legacyIdsAllSet(e: EntryBody): boolean {
  return arr(e, "Sources").every((src) => s(src, "LegacyID") !== "");
}
