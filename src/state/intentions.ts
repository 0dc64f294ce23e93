/**
 * Intention reads over `service-intentions` entries (Consul's
 * state/config_entry_intention.go): list, by legacy ID, by exact
 * (source, destination), and match by source or destination with wildcards,
 * each in precedence order. The index is the config-entries table's.
 */
import { CONFIG_TABLE, configKey, findLegacyIntention } from "./config_entries.ts";
import type { Tables } from "./tables.ts";
import { toIntention, toIntentions } from "../configentry/intention_view.ts";
import { arr, s } from "../configentry/kinds/kind.ts";
import { sortByPrecedence } from "../connect/intentions.ts";
import { type Intention, WILDCARD } from "../structs/intention.ts";

const index = (t: Tables): number => Math.max(1, t.index(CONFIG_TABLE));

function intentionRows(t: Tables) {
  return [...(t.configEntriesByKind.get("service-intentions") ?? [])].map((k) => t.configEntries.get(k)!);
}

export function intentionList(t: Tables): { index: number; value: Intention[] } {
  return { index: index(t), value: sortByPrecedence(intentionRows(t).flatMap(toIntentions)) };
}

export function intentionGet(t: Tables, id: string): { index: number; value: Intention | null } {
  const found = findLegacyIntention(t, id);
  return { index: index(t), value: found ? toIntention(found.row, arr(found.row.Entry, "Sources")[found.index]!) : null };
}

export function intentionGetExact(t: Tables, source: string, destination: string): { index: number; value: Intention | null } {
  const row = t.configEntries.get(configKey("service-intentions", destination));
  const src = row ? arr(row.Entry, "Sources").find((x) => s(x, "Peer") === "" && s(x, "Name") === source) : undefined;
  return { index: index(t), value: row && src ? toIntention(row, src) : null };
}

/** Intentions whose source (or destination) is `name` or the wildcard, highest precedence first. */
export function intentionMatchOne(t: Tables, by: "source" | "destination", name: string): Intention[] {
  const out: Intention[] = [];
  if (by === "destination") {
    for (const dest of name === WILDCARD ? [WILDCARD] : [name, WILDCARD]) {
      const row = t.configEntries.get(configKey("service-intentions", dest));
      if (row) out.push(...toIntentions(row));
    }
  } else {
    for (const row of intentionRows(t)) {
      for (const src of arr(row.Entry, "Sources")) {
        if (s(src, "Peer") !== "" || s(src, "SamenessGroup") !== "") continue;
        const n = s(src, "Name");
        if (n === name || n === WILDCARD) out.push(toIntention(row, src));
      }
    }
  }
  return sortByPrecedence(out);
}

export function intentionMatch(t: Tables, by: "source" | "destination", names: readonly string[]): { index: number; value: Intention[][] } {
  return { index: index(t), value: names.map((n) => intentionMatchOne(t, by, n)) };
}
