/** Checks of single config values: each names the file and key of a value that will not do. */
import { parseGoDuration } from "../structs/duration.ts";
import { ConfigError } from "./config_error.ts";

export function expect<T>(file: string, key: string, v: unknown, check: (v: unknown) => boolean, what: string): T {
  if (!check(v)) throw new ConfigError(`${file}: ${key} must be ${what}, got ${JSON.stringify(v)}`);
  return v as T;
}
export const isStr = (v: unknown) => typeof v === "string";
export const isNum = (v: unknown) => typeof v === "number" && Number.isInteger(v);
export const isBool = (v: unknown) => typeof v === "boolean";

/** A Go duration string ("1m", "500ms"); positive, since these are periods. */
export function duration(file: string, key: string, v: unknown): number {
  const ms = typeof v === "string" ? parseGoDuration(v) : null;
  if (ms === null || ms <= 0) throw new ConfigError(`${file}: ${key} must be a positive duration such as "30s", got ${JSON.stringify(v)}`);
  return ms;
}

export const isStrList = (x: unknown) => Array.isArray(x) && x.every(isStr);
