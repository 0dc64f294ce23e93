/**
 * Typed field readers for Consul's JSON bodies: case-insensitive names,
 * snake_case aliases, and a DecodeError (answered with 400) on a wrong type.
 */
import { field, isObject } from "./json.ts";
import { listProblem, mapProblem, oversizedString, stringProblem } from "./limits.ts";

/** A request body that does not have the shape Consul expects. */
export class DecodeError extends Error {
  override readonly name = "DecodeError";
}

export type Obj = Record<string, unknown>;

const fail = (msg: string): never => {
  throw new DecodeError(`Request decode failed: ${msg}`);
};

export function str(o: Obj, name: string, ...aliases: string[]): string {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") return fail(`${name} must be a string, got ${JSON.stringify(v)}`);
  const problem = stringProblem(name, v);
  return problem ? fail(problem) : v;
}

export function num(o: Obj, name: string, ...aliases: string[]): number {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return 0;
  if (typeof v !== "number" || !Number.isFinite(v)) return fail(`${name} must be a number, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * A field Go decodes into an int (ports, weights, indexes): a fraction or a
 * value past a 64-bit integer is refused as Go's decoder refuses it.
 */
export function int(o: Obj, name: string, ...aliases: string[]): number {
  const v = num(o, name, ...aliases);
  if (!Number.isInteger(v) || Math.abs(v) >= 2 ** 63) return fail(`${name} must be an integer, got ${JSON.stringify(v)}`);
  return v;
}

export function bool(o: Obj, name: string, ...aliases: string[]): boolean {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return false;
  if (typeof v !== "boolean") return fail(`${name} must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

export function strList(o: Obj, name: string, ...aliases: string[]): string[] {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== "string")) return fail(`${name} must be a list of strings`);
  const problem = listProblem(name, v as string[]);
  return problem ? fail(problem) : (v as string[]);
}

export function strMap(o: Obj, name: string, ...aliases: string[]): Record<string, string> {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return {};
  if (!isObject(v) || Object.values(v).some((x) => typeof x !== "string")) return fail(`${name} must be a map of strings`);
  const problem = mapProblem(name, v as Record<string, string>);
  if (problem !== null) throw new DecodeError(problem);
  return v as Record<string, string>;
}

export function obj(o: Obj, name: string, ...aliases: string[]): Obj | null {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return null;
  if (!isObject(v)) return fail(`${name} must be an object`);
  const problem = oversizedString(v, name);
  return problem ? fail(problem) : v;
}

export function objList(o: Obj, name: string, ...aliases: string[]): Obj[] {
  const v = field(o, name, ...aliases);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v) || v.some((x) => !isObject(x))) return fail(`${name} must be a list of objects`);
  return v as Obj[];
}

export function requireObject(body: unknown): Obj {
  if (!isObject(body)) return fail("body must be a JSON object");
  return body as Obj;
}
