/** The JSON entry `kv export` writes and `kv import` reads (Consul's `impexp.Entry`). */
import { encodeBase64, parseJson, type KVPair } from "../../api/mod.ts";

export interface ExportEntry {
  key: string;
  flags: bigint;
  /** Base64 of the value. */
  value: string;
  namespace?: string;
  partition?: string;
}

export function toEntry(pair: KVPair): ExportEntry {
  const e: ExportEntry = { key: pair.Key, flags: pair.Flags, value: encodeBase64(pair.Value ?? new Uint8Array(0)) };
  if (pair.Namespace) e.namespace = pair.Namespace;
  if (pair.Partition) e.partition = pair.Partition;
  return e;
}

/** Import data that does not decode into entries; the message follows Go's encoding/json. */
export class ImportDecodeError extends Error {
  override readonly name = "ImportDecodeError";
}

/**
 * Decodes `kv import` input. Like Go's encoding/json, field names match
 * case-insensitively and unknown fields are ignored.
 */
export function parseEntries(text: string): ExportEntry[] {
  let json: unknown;
  try {
    json = parseJson(text);
  } catch (err) {
    throw new ImportDecodeError((err as Error).message, { cause: err });
  }
  if (json === null) return [];
  if (!Array.isArray(json)) {
    throw new ImportDecodeError(`json: cannot unmarshal ${jsonKind(json)} into Go value of type []*impexp.Entry`);
  }
  return json.flatMap((item: unknown): ExportEntry[] => {
    if (item === null) return [];
    if (typeof item !== "object" || Array.isArray(item)) {
      throw new ImportDecodeError(`json: cannot unmarshal ${jsonKind(item)} into Go value of type impexp.Entry`);
    }
    const get = (field: string): unknown => {
      const hit = Object.keys(item).find((k) => k.toLowerCase() === field);
      return hit === undefined ? undefined : (item as Record<string, unknown>)[hit];
    };
    const entry: ExportEntry = {
      key: stringField(get("key"), "key"),
      flags: uint64Field(get("flags")),
      value: stringField(get("value"), "value"),
    };
    const ns = get("namespace");
    if (ns !== undefined && ns !== null) entry.namespace = stringField(ns, "namespace");
    const ap = get("partition");
    if (ap !== undefined && ap !== null) entry.partition = stringField(ap, "partition");
    return [entry];
  });
}

function stringField(v: unknown, field: string): string {
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    throw new ImportDecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field Entry.${field} of type string`);
  }
  return v;
}

function uint64Field(v: unknown): bigint {
  if (v === undefined || v === null) return 0n;
  const text = typeof v === "number" || typeof v === "string" ? String(v) : "";
  if ((typeof v === "number" || (typeof v === "string" && /^-?\d+$/.test(v))) && /^\d+$/.test(text)) {
    const n = BigInt(text);
    if (n <= 0xffffffffffffffffn) return n;
  }
  if (typeof v === "number" || typeof v === "string") {
    const shown = typeof v === "string" && !/^-?\d+$/.test(v) ? "string" : `number ${text}`;
    throw new ImportDecodeError(`json: cannot unmarshal ${shown} into Go struct field Entry.flags of type uint64`);
  }
  throw new ImportDecodeError(`json: cannot unmarshal ${jsonKind(v)} into Go struct field Entry.flags of type uint64`);
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}
