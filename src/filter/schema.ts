/**
 * The shape of the JSON values a filter runs over. It plays the part of the Go
 * struct types that go-bexpr reflects on: only fields named here can be
 * selected, and the kind decides which operators a selector accepts.
 */
export type FieldSchema =
  | { readonly kind: "string" }
  | { readonly kind: "number" }
  | { readonly kind: "bool" }
  | { readonly kind: "list"; readonly elem: FieldSchema }
  | { readonly kind: "map"; readonly elem: FieldSchema }
  | { readonly kind: "struct"; readonly fields: Readonly<Record<string, FieldSchema>> };

export type PrimitiveSchema = Extract<FieldSchema, { kind: "string" | "number" | "bool" }>;

export function isPrimitive(schema: FieldSchema): schema is PrimitiveSchema {
  return schema.kind === "string" || schema.kind === "number" || schema.kind === "bool";
}
