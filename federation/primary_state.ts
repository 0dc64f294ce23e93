/**
 * Which datacenter is the primary, and since when: a (datacenter, epoch)
 * pair. The configured `primary_datacenter` is epoch 0; promoting a
 * secondary (`consulate operator federation promote`) takes the highest
 * epoch known plus one. Every server advertises its pair in its WAN gossip
 * tags (`fed_primary`) and adopts any higher epoch it hears, so the other
 * datacenters, and an old primary that comes back, follow the promotion
 * without a restart. The pair is kept in a file, so a restart keeps it.
 */
import { readFile, rename, writeFile } from "node:fs/promises";

export const PRIMARY_TAG = "fed_primary";

export interface PrimaryClaim {
  readonly datacenter: string;
  readonly epoch: number;
}

export function formatClaim(c: PrimaryClaim): string {
  return `${c.datacenter}:${c.epoch}`;
}

/** The claim in a tag value, or null when it is malformed. */
export function parseClaim(v: string | undefined): PrimaryClaim | null {
  const m = /^([A-Za-z0-9_-]{1,64}):(\d{1,15})$/.exec(v ?? "");
  return m ? { datacenter: m[1]!, epoch: Number(m[2]) } : null;
}

/** Whether `b` supersedes `a`: a higher epoch; at equal epochs the lower name wins (two promotions at once settle the same way everywhere). */
export function supersedes(b: PrimaryClaim, a: PrimaryClaim): boolean {
  return b.epoch > a.epoch || (b.epoch === a.epoch && b.datacenter !== a.datacenter && b.datacenter < a.datacenter && b.epoch > 0);
}

export async function loadClaim(file: string | null): Promise<PrimaryClaim | null> {
  if (!file) return null;
  try {
    return parseClaim(JSON.parse(await readFile(file, "utf8")).claim);
  } catch {
    return null;
  }
}

export async function saveClaim(file: string | null, c: PrimaryClaim): Promise<void> {
  if (!file) return;
  const tmp = `${file}.tmp`;
  await writeFile(tmp, JSON.stringify({ claim: formatClaim(c) }));
  await rename(tmp, file);
}
