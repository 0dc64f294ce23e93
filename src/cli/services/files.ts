/**
 * Services from agent configuration files (Consul's services.ServicesFromFiles):
 * each file's `service` and `services` blocks, as JSON, in the case and
 * spelling the file uses; the agent decodes them as it decodes its own config.
 */
import { defaultConfig } from "../../agent/config.ts";
import { ConfigError } from "../../agent/config_error.ts";
import { loadConfigFile } from "../../agent/config_load.ts";
import { isObject } from "../../structs/json.ts";

export type RawService = Record<string, unknown>;

export async function servicesFromFiles(files: readonly string[]): Promise<RawService[]> {
  const out: RawService[] = [];
  for (const file of files) {
    const cfg = defaultConfig();
    await loadConfigFile(cfg, file);
    for (const s of cfg.services) {
      if (!isObject(s)) throw new ConfigError(`${file}: a service definition must be an object, got ${JSON.stringify(s)}`);
      out.push({ ...s });
    }
  }
  return out;
}

const norm = (k: string): string => k.toLowerCase().replaceAll("_", "");

/** A field read case-insensitively, snake_case spellings included. */
export function getField(o: RawService, name: string): unknown {
  for (const [k, v] of Object.entries(o)) if (norm(k) === norm(name)) return v;
  return undefined;
}

/** Sets a field under its canonical name, dropping other spellings of it. */
export function setField(o: RawService, name: string, value: unknown): void {
  for (const k of Object.keys(o)) if (norm(k) === norm(name)) delete o[k];
  o[name] = value;
}

export const stringField = (o: RawService, name: string): string => {
  const v = getField(o, name);
  return typeof v === "string" ? v : "";
};
