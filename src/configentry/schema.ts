/**
 * A small description language for the Go structs behind Consul's config
 * entries. One schema drives both directions: decoding a request body the way
 * Consul's mapstructure decoder does (case-insensitive names, snake_case
 * aliases, weak typing, unknown keys refused) and encoding the stored entry
 * the way Go's encoding/json writes it (field order, `omitempty`, zero values).
 */

export type Schema =
  | { readonly k: "string" }
  | { readonly k: "int" }
  | { readonly k: "uint" }
  | { readonly k: "float" }
  | { readonly k: "bool" }
  /** time.Duration, kept in nanoseconds; `text` fields have a MarshalJSON writing Go's duration text. */
  | { readonly k: "duration"; readonly text: boolean }
  /** time.Time, kept as RFC 3339 text. */
  | { readonly k: "time" }
  /** interface{} and map[string]interface{}: kept as given. */
  | { readonly k: "any" }
  | { readonly k: "map"; readonly elem: Schema }
  | { readonly k: "list"; readonly elem: Schema }
  | { readonly k: "ptr"; readonly elem: Schema }
  | { readonly k: "struct"; readonly fields: readonly Field[] };

export interface Field {
  /** The Go field name, which is also the JSON key. */
  readonly name: string;
  readonly s: Schema;
  /** `json:",omitempty"`. */
  readonly omit: boolean;
  /** Other spellings the decoder accepts (Consul's `alias:"..."` tags). */
  readonly aliases: readonly string[];
}

export const str: Schema = { k: "string" };
export const int: Schema = { k: "int" };
export const uint: Schema = { k: "uint" };
export const float: Schema = { k: "float" };
export const bool: Schema = { k: "bool" };
export const any: Schema = { k: "any" };
export const time: Schema = { k: "time" };
/** A Duration written as nanoseconds. */
export const durationNs: Schema = { k: "duration", text: false };
/** A Duration written as Go text ("5s") by a custom MarshalJSON. */
export const durationText: Schema = { k: "duration", text: true };
export const strMap: Schema = { k: "map", elem: str };

export const list = (elem: Schema): Schema => ({ k: "list", elem });
export const map = (elem: Schema): Schema => ({ k: "map", elem });
export const ptr = (elem: Schema): Schema => ({ k: "ptr", elem });

/** snake_case of a Go name ("MaxInboundConnections" -> "max_inbound_connections", "SNI" -> "sni"). */
export function snake(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1_$2")
    .toLowerCase();
}

/**
 * A field spec: `[name, schema]` for a plain field, `[name, schema, "o"]` for
 * `omitempty`, and an optional list of extra aliases. Multi-word names also
 * accept their snake_case spelling, as Consul's alias tags do.
 */
export type FieldSpec = readonly [string, Schema] | readonly [string, Schema, "o" | ""] | readonly [string, Schema, "o" | "", readonly string[]];

export function struct(...specs: FieldSpec[]): Schema {
  return {
    k: "struct",
    fields: specs.map((spec) => {
      const [name, s, o, extra] = spec as [string, Schema, string | undefined, readonly string[] | undefined];
      const sn = snake(name);
      const aliases = [...(sn !== name.toLowerCase() ? [sn] : []), ...(extra ?? [])];
      return { name, s, omit: o === "o", aliases };
    }),
  };
}

/** The same struct with more fields after the given ones. */
export function extend(base: Schema, ...specs: FieldSpec[]): Schema {
  if (base.k !== "struct") throw new TypeError("extend needs a struct schema");
  const more = struct(...specs);
  return { k: "struct", fields: [...base.fields, ...(more as { fields: readonly Field[] }).fields] };
}
