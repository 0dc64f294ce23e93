/**
 * Keeps the agent's registrations in the data dir so a restarted agent comes
 * back with its services and checks (Consul keeps them under data-dir too).
 * One JSON file, replaced atomically.
 */
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { CheckDef, ServiceDef } from "./local_state.ts";

export interface PersistedState {
  services: { service: ServiceDef; token: string; fromConfig: boolean }[];
  checks: { check: CheckDef; definition: Record<string, unknown>; token: string; fromConfig: boolean }[];
  /** Maintenance mode survives a restart, as in Consul; serviceId "" is the node. */
  maintenance?: { serviceId: string; reason: string }[];
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

/** Writes serially; a write requested while one runs is folded into the next. */
export class StateWriter {
  private readonly file: string;
  private running: Promise<void> | null = null;
  private again = false;

  constructor(file: string) {
    this.file = file;
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
        await writeFile(tmp, JSON.stringify(snapshot()));
        await rename(tmp, this.file);
      } while (this.again);
    })().finally(() => (this.running = null));
    return this.running;
  }

  async flush(): Promise<void> {
    while (this.running) await this.running;
  }
}
