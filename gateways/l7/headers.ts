/** Request/response header modifiers (Consul's HTTPHeaderModifiers): Add appends, Set replaces, Remove deletes. */

export interface HeaderModifiers {
  readonly Add?: Readonly<Record<string, string>> | null;
  readonly Set?: Readonly<Record<string, string>> | null;
  readonly Remove?: readonly string[] | null;
}

export type Fields = [string, string][];

export function applyHeaderModifiers(fields: readonly (readonly [string, string])[], mods: readonly (HeaderModifiers | null | undefined)[]): Fields {
  // No modifier (the common case): a new list of the same fields, which nobody changes in place.
  if (!mods.some((m) => m)) return fields.slice() as Fields;
  let out: Fields = fields.map(([k, v]) => [k, v]);
  for (const m of mods) {
    if (!m) continue;
    const remove = new Set((m.Remove ?? []).map((n) => n.toLowerCase()));
    for (const name of Object.keys(m.Set ?? {})) remove.add(name.toLowerCase());
    if (remove.size > 0) out = out.filter(([k]) => !remove.has(k.toLowerCase()));
    for (const [k, v] of Object.entries(m.Set ?? {})) out.push([k, v]);
    for (const [k, v] of Object.entries(m.Add ?? {})) out.push([k, v]);
  }
  return out;
}
