/** Reading config files: JSON or HCL, one file or a directory's files in name order. */
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentConfig, mergeConfigObject } from "./config.ts";
import { ConfigError } from "./config_error.ts";
import { parseHclConfig } from "./config_hcl.ts";

/** Reads one file, as HCL when named *.hcl (or when `format` says so), else as JSON. */
export async function loadConfigFile(cfg: AgentConfig, path: string, format?: "hcl" | "json"): Promise<void> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new ConfigError(`Error reading config file "${path}": ${(err as Error).message}`);
  }
  if (format === "hcl" || (format === undefined && /\.hcl$/i.test(path))) {
    mergeConfigObject(cfg, await parseHclConfig(text, path), path);
    return;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    const hint = /^\s*[A-Za-z_][\w-]*\s*(=|\{|")/.test(text) ? ' (this looks like HCL: name the file "*.hcl" to have it read as HCL)' : "";
    throw new ConfigError(`Error parsing ${path}: ${(err as Error).message}${hint}`);
  }
  mergeConfigObject(cfg, raw, path);
}

export async function loadConfigDir(cfg: AgentConfig, dir: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new ConfigError(`Error reading config dir "${dir}": ${(err as Error).message}`);
  }
  // Consul reads both formats from a config dir, in name order.
  for (const name of names.filter((n) => n.endsWith(".json") || n.endsWith(".hcl")).sort()) await loadConfigFile(cfg, join(dir, name));
}
