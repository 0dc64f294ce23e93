/**
 * Keeps the agent's registrations in the data dir so a restarted agent comes
 * back with its services and checks (Consul keeps them under data-dir too).
 * One JSON file, replaced atomically.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { CheckEntry } from "./agent_checks.ts";
import { encodeCheckDefinition } from "./checks/mod.ts";
import type { CheckDef, LocalState, ServiceDef } from "./local_state.ts";
import { NODE_MAINT_ID, serviceMaintId } from "./maintenance.ts";

export interface PersistedState {
  services: { service: ServiceDef; token: string; fromConfig: boolean }[];
  checks: { check: CheckDef; definition: Record<string, unknown>; token: string; fromConfig: boolean }[];
  /** Maintenance mode survives a restart, as in Consul; serviceId "" is the node. */
  maintenance?: { serviceId: string; reason: string }[];
}

/** What to persist: the live services, the checks with their definitions, and maintenance mode. */
export function persistedState(local: LocalState, serviceFromConfig: ReadonlyMap<string, boolean>, checks: Iterable<CheckEntry>): PersistedState {
  return {
    services: [...local.services.values()]
      .filter((s) => !s.deleted)
      .map((s) => ({ service: s.service, token: s.token, fromConfig: serviceFromConfig.get(s.service.ID) ?? false })),
    checks: [...checks]
      .filter((e) => local.check(e.def.ID))
      .map((e) => ({
        check: local.check(e.def.ID)!.check,
        definition: encodeCheckDefinition(e.def),
        token: e.token,
        fromConfig: e.fromConfig,
      })),
    maintenance: local
      .liveChecks()
      .filter((c) => c.CheckID === NODE_MAINT_ID || c.CheckID === serviceMaintId(c.ServiceID))
      .map((c) => ({ serviceId: c.CheckID === NODE_MAINT_ID ? "" : c.ServiceID, reason: c.Notes })),
  };
}

export async function loadPersisted(file: string): Promise<PersistedState> {
  try {
    const raw = JSON.parse(await readFile(file, "utf8")) as PersistedState;
    return { services: raw.services ?? [], checks: raw.checks ?? [], maintenance: raw.maintenance ?? [] };
  } catch (err) {
    if ((err as { code?: string }).code === "ENOENT") return { services: [], checks: [], maintenance: [] };
    throw new Error(`Failed to load agent state from ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/**
 * The state as JSON, entry by entry: an entry that cannot be encoded is left
 * out and reported, so one bad registration never stops the others from
 * being saved.
 */
export function encodeState(state: PersistedState, skipped: (what: string, err: Error) => void): string {
  const each = <T>(list: readonly T[], name: (x: T) => string): string =>
    list
      .flatMap((x) => {
        try {
          return [JSON.stringify(x)];
        } catch (err) {
          skipped(name(x), err as Error);
          return [];
        }
      })
      .join(",");
  const services = each(state.services, (s) => `service ${JSON.stringify(s.service.ID)}`);
  const checks = each(state.checks, (c) => `check ${JSON.stringify(c.check.CheckID)}`);
  return `{"services":[${services}],"checks":[${checks}],"maintenance":${JSON.stringify(state.maintenance ?? [])}}`;
}

/** Writes serially; a write requested while one runs is folded into the next. */
export class StateWriter {
  private readonly file: string;
  private readonly skipped: (what: string, err: Error) => void;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(file: string, skipped: (what: string, err: Error) => void = () => {}) {
    this.file = file;
    this.skipped = skipped;
  }

  save(snapshot: () => PersistedState): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await mkdir(dirname(this.file), { recursive: true });
        const tmp = `${this.file}.tmp`;
        await writeFile(tmp, encodeState(snapshot(), this.skipped));
        await rename(tmp, this.file);
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
  }
}
