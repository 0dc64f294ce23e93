/**
 * Structural equality for catalog rows, as Consul's IsSame (reflect.DeepEqual)
 * sees it: object key order is irrelevant, so a re-registration that sends the
 * same maps in another order is not a change.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((v, i) => deepEqual(v, b[i]));
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  // A key holding `undefined` counts as absent, as it would after a JSON round trip.
  const keys = (o: Record<string, unknown>) => Object.keys(o).filter((k) => o[k] !== undefined);
  const kx = keys(x);
  return kx.length === keys(y).length && kx.every((k) => Object.hasOwn(y, k) && deepEqual(x[k], y[k]));
}

const INDEXES = new Set(["CreateIndex", "ModifyIndex"]);

/** Whether two stored rows differ in nothing but their CreateIndex and ModifyIndex (a re-registration that changes nothing). */
export function sameRow(a: object, b: object): boolean {
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let nx = 0;
  for (const k in x) {
    if (INDEXES.has(k) || x[k] === undefined) continue;
    nx++;
    if (!Object.hasOwn(y, k) || !deepEqual(x[k], y[k])) return false;
  }
  let ny = 0;
  for (const k in y) if (!INDEXES.has(k) && y[k] !== undefined) ny++;
  return nx === ny;
}
