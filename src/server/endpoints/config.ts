/** ConfigEntry.* endpoints (Consul's agent/consul/config_endpoint.go). */
import { blockingRead } from "./read.ts";
import { ApplyError, type Server } from "../server.ts";
import type { MaybePromise, QueryReply, RequestOptions } from "../../rpc/types.ts";
import { configEntryGet, configEntryList, configKindTopic, MessageType } from "../../state/mod.ts";
import type { EntryBody } from "../../configentry/kinds/kind.ts";
import { EntryValidationError } from "../../configentry/kinds/kind.ts";
import { InvalidKindError, isKnownKind, normalizeAndValidate, type StoredConfigEntry } from "../../configentry/registry.ts";
import { BadRequestError } from "../../rpc/errors.ts";

export interface ConfigEntryApplyArgs {
  readonly Op: "upsert" | "upsert-cas";
  /** A decoded entry; the server normalizes and validates it. */
  readonly Entry: EntryBody;
  /** The CAS index for upsert-cas (0: only if absent). */
  readonly Index?: number;
}

export interface ConfigEntryDeleteArgs {
  readonly Kind: string;
  readonly Name: string;
  /** Present for a check-and-set delete. */
  readonly CAS?: number;
}

function checkKind(kind: string): void {
  if (!isKnownKind(kind)) throw new BadRequestError(new InvalidKindError(kind).message);
}

/** Normalize, Validate, then one log entry; a refused entry is an ApplyError (Consul answers 500). */
export async function apply(s: Server, a: ConfigEntryApplyArgs): Promise<boolean> {
  checkKind(a.Entry.Kind);
  const entry = structuredClone(a.Entry);
  try {
    normalizeAndValidate(entry);
  } catch (err) {
    if (err instanceof EntryValidationError) throw new ApplyError(err.message);
    throw err;
  }
  const r = await s.mustWrite({ Type: MessageType.ConfigEntry, Now: s.clock.now(), Op: a.Op, Entry: entry, ...(a.Op === "upsert-cas" ? { Index: a.Index ?? 0 } : {}) });
  return r.value === true;
}

export async function remove(s: Server, a: ConfigEntryDeleteArgs): Promise<{ Deleted: boolean }> {
  checkKind(a.Kind);
  // proxy-defaults and mesh have fixed names; Consul's Normalize insists on them for deletes too.
  if (a.Kind === "proxy-defaults" && a.Name !== "" && a.Name !== "global") throw new ApplyError(`invalid name (${JSON.stringify(a.Name)}), only "global" is supported`);
  const entry: EntryBody = { Kind: a.Kind, Name: a.Kind === "mesh" ? "mesh" : a.Kind === "proxy-defaults" ? "global" : a.Name };
  const cas = a.CAS !== undefined;
  const r = await s.mustWrite({ Type: MessageType.ConfigEntry, Now: s.clock.now(), Op: cas ? "delete-cas" : "delete", Entry: entry, ...(cas ? { Index: a.CAS } : {}) });
  return { Deleted: r.value === true };
}

export function get(s: Server, a: { readonly Kind: string; readonly Name: string }, o: RequestOptions): MaybePromise<QueryReply<StoredConfigEntry | null>> {
  checkKind(a.Kind);
  const name = a.Kind === "mesh" ? "mesh" : a.Name;
  return blockingRead(s, o, () => [configKindTopic(a.Kind)], () => configEntryGet(s.state.t, a.Kind, name));
}

export function list(s: Server, a: { readonly Kind: string }, o: RequestOptions): MaybePromise<QueryReply<StoredConfigEntry[]>> {
  if (a.Kind !== "") checkKind(a.Kind);
  return blockingRead(s, o, () => [configKindTopic(a.Kind)], () => configEntryList(s.state.t, a.Kind));
}
