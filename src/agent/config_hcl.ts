/**
 * An agent config file written in HCL, read into the same object a JSON file
 * gives. HCL blocks come back from the parser as lists (`ports { http = 1 }`
 * is `{"ports": [{"http": 1}]}`); Consul turns a one-element list of blocks
 * back into an object except where the key really holds a list (`services`,
 * `checks`, `upstreams`, ...), and so do we.
 */
import { HclSyntaxError, parseHcl } from "../hcl/mod.ts";
import { ConfigError } from "./config_error.ts";

/** Keys whose value is a list of objects in Consul's config, kept as lists. */
const LIST_KEYS: ReadonlySet<string> = new Set(["checks", "services", "watches", "upstreams", "segments", "bootstrap", "paths", "sources", "permissions"]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function unwrap(value: unknown, path: string, file: string): unknown {
  if (Array.isArray(value)) {
    const key = path.slice(path.lastIndexOf(".") + 1);
    const objects = value.length > 0 && value.every(isObject);
    if (!objects || LIST_KEYS.has(key)) return value.map((v, i) => unwrap(v, `${path}[${i}]`, file));
    if (value.length > 1) {
      throw new ConfigError(`${file}: "${path}" is given ${value.length} times; it takes one block${key === "service" || key === "check" ? ` (use "${key}s" for several)` : ""}`);
    }
    return unwrap(value[0], path, file);
  }
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = unwrap(v, path === "" ? k : `${path}.${k}`, file);
    return out;
  }
  return value;
}

/** Parses HCL agent config text into the object `mergeConfigObject` takes. */
export async function parseHclConfig(text: string, file: string): Promise<Record<string, unknown>> {
  let doc: Record<string, unknown>;
  try {
    doc = await parseHcl(text, file);
  } catch (err) {
    if (err instanceof HclSyntaxError) throw new ConfigError(`Error parsing ${file}: ${err.message}`);
    throw err;
  }
  return unwrap(doc, "", file) as Record<string, unknown>;
}
