/** What every config entry kind provides: its schema and Consul's Normalize/Validate. */
import type { Schema } from "../schema.ts";

/** A decoded config entry: canonical Go field names, values as the schema decodes them. */
export type EntryBody = Record<string, unknown> & { Kind: string; Name: string };

/**
 * A validation failure. `multi` marks errors Consul builds with go-multierror,
 * whose text lists every problem ("1 error occurred:\n\t* ...").
 */
export class EntryValidationError extends Error {
  override readonly name = "EntryValidationError";
  readonly problems: readonly string[];
  readonly multi: boolean;

  constructor(problems: readonly string[], multi = false) {
    super(multi ? multiText(problems) : (problems[0] ?? "invalid config entry"));
    this.problems = problems;
    this.multi = multi;
  }
}

/** hashicorp/go-multierror's text for a list of errors. */
export function multiText(problems: readonly string[]): string {
  const head = problems.length === 1 ? "1 error occurred:" : `${problems.length} errors occurred:`;
  return `${head}\n\t* ${problems.join("\n\t* ")}\n\n`;
}

export interface KindDef {
  readonly kind: string;
  readonly schema: Schema;
  /** Fix-ups Consul makes before validating (lower-casing, defaults, fixed names). Throws EntryValidationError. */
  normalize(e: EntryBody): void;
  /** Consul's Validate for the entry on its own. Throws EntryValidationError. */
  validate(e: EntryBody): void;
}

export const fail = (msg: string): never => {
  throw new EntryValidationError([msg]);
};

/** Collects problems and throws them as one multierror when there are any. */
export class Problems {
  readonly list: string[] = [];
  add(msg: string): void {
    this.list.push(msg);
  }
  addAll(msgs: readonly string[]): void {
    this.list.push(...msgs);
  }
  throwIfAny(): void {
    if (this.list.length > 0) throw new EntryValidationError(this.list, true);
  }
}

// ---- typed readers over decoded values ----

export type Obj = Record<string, unknown>;

export const s = (o: Obj | undefined, k: string): string => (typeof o?.[k] === "string" ? (o[k] as string) : "");
export const n = (o: Obj | undefined, k: string): number => (typeof o?.[k] === "number" ? (o[k] as number) : 0);
export const b = (o: Obj | undefined, k: string): boolean => o?.[k] === true;
export const o = (x: Obj | undefined, k: string): Obj | undefined => {
  const v = x?.[k];
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Obj) : undefined;
};
export const arr = (x: Obj | undefined, k: string): Obj[] => (Array.isArray(x?.[k]) ? (x[k] as Obj[]) : []);
export const strs = (x: Obj | undefined, k: string): string[] => (Array.isArray(x?.[k]) ? (x[k] as string[]) : []);
export const smap = (x: Obj | undefined, k: string): Record<string, string> => (o(x, k) as Record<string, string> | undefined) ?? {};

// ---- shared rules ----

export const META_MAX_KEY_PAIRS = 64;
export const META_KEY_MAX_LENGTH = 128;
export const META_VALUE_MAX_LENGTH = 512;

/** Consul's validateConfigEntryMeta: the problems, empty when fine. */
export function metaProblems(meta: Record<string, string>): string[] {
  const out: string[] = [];
  const keys = Object.keys(meta);
  if (keys.length > META_MAX_KEY_PAIRS) out.push(`Meta exceeds maximum element count ${META_MAX_KEY_PAIRS}`);
  for (const k of keys) {
    if (k.length > META_KEY_MAX_LENGTH) out.push(`Meta key ${JSON.stringify(k)} exceeds maximum length ${META_KEY_MAX_LENGTH}`);
    if ((meta[k] ?? "").length > META_VALUE_MAX_LENGTH) out.push(`Meta value for key ${JSON.stringify(k)} exceeds maximum length ${META_VALUE_MAX_LENGTH}`);
  }
  return out;
}

export function validateMeta(e: EntryBody): void {
  const p = metaProblems(smap(e, "Meta"));
  if (p.length > 0) throw new EntryValidationError(p, true);
}

export const HTTP_LIKE = new Set(["http", "http2", "grpc"]);
export const PROTOCOLS = new Set(["tcp", "http", "http2", "grpc"]);
export const HTTP_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "CONNECT", "OPTIONS", "TRACE"]);
export const TLS_VERSIONS = new Set(["TLS_AUTO", "TLSv1_0", "TLSv1_1", "TLSv1_2", "TLSv1_3"]);
export const WILDCARD = "*";
