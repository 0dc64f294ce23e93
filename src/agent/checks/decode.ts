/**
 * Reads a check definition from Consul's JSON: field names in any case,
 * snake_case spellings (`tls_skip_verify`, `deregister_critical_service_after`),
 * `args`/`script_args` for ScriptArgs, durations as Go strings or nanoseconds.
 * Wrong types fail with the text Go's encoding/json would give.
 */
import { field, isObject } from "../../structs/json.ts";
import { parseGoDuration } from "../../structs/duration.ts";
import { oversizedString, stringProblem } from "../../structs/limits.ts";
import { type CheckDefinition, emptyCheckDefinition } from "./definition.ts";
import { CheckDefinitionError, CheckErrorCode } from "./errors.ts";
import { type ScriptPolicy, validateCheckDefinition } from "./validate.ts";

export interface DecodeOptions {
  /** Run Consul's CheckType.Validate after decoding (default true). */
  validate?: boolean;
  /** When given, also refuse script checks the agent's settings forbid. */
  scripts?: ScriptPolicy;
  /** The Go type named in type errors (default "CheckDefinition"). */
  goType?: string;
}

/**
 * Decodes (and by default validates) one check definition.
 *
 * @example
 * ```ts
 * const def = decodeCheckDefinition({ name: "web", http: "http://127.0.0.1:8080/health", interval: "10s" });
 * checkType(def); // "http"
 * ```
 */
export function decodeCheckDefinition(raw: unknown, options: DecodeOptions = {}): CheckDefinition {
  const goType = options.goType ?? "CheckDefinition";
  if (!isObject(raw)) {
    throw decodeError(`json: cannot unmarshal ${jsonKind(raw)} into Go value of type structs.${goType}`);
  }
  const tooBig = oversizedString(raw, "");
  if (tooBig !== null) throw decodeError(`Request decode failed: ${tooBig}`);
  const r = new Reader(raw, goType);
  const def = emptyCheckDefinition();
  def.ID = r.str("ID") || r.str("CheckID");
  def.Name = r.str("Name");
  def.Notes = r.str("Notes");
  def.ServiceID = r.str("ServiceID");
  def.Token = r.str("Token");
  def.Status = r.str("Status");
  def.ScriptArgs = r.strList("ScriptArgs");
  if (def.ScriptArgs.length === 0) def.ScriptArgs = r.strList("Args");
  def.HTTP = r.str("HTTP");
  def.H2PING = r.str("H2PING");
  // Consul turns TLS on for H2PING unless the definition says otherwise.
  def.H2PingUseTLS = r.has("H2PingUseTLS") ? r.bool("H2PingUseTLS") : def.H2PING !== "";
  def.Header = r.header("Header");
  def.Method = r.str("Method");
  def.Body = r.str("Body");
  def.DisableRedirects = r.bool("DisableRedirects");
  def.TCP = r.str("TCP");
  def.TCPUseTLS = r.bool("TCPUseTLS");
  def.UDP = r.str("UDP");
  def.Interval = r.duration("Interval");
  def.DockerContainerID = r.str("DockerContainerID");
  def.Shell = r.str("Shell");
  def.GRPC = r.str("GRPC");
  def.GRPCUseTLS = r.bool("GRPCUseTLS");
  def.OSService = r.str("OSService");
  def.TLSServerName = r.str("TLSServerName");
  def.TLSSkipVerify = r.bool("TLSSkipVerify");
  def.AliasNode = r.str("AliasNode");
  def.AliasService = r.str("AliasService");
  def.Timeout = r.duration("Timeout");
  def.TTL = r.duration("TTL");
  def.SuccessBeforePassing = r.int("SuccessBeforePassing");
  def.FailuresBeforeWarning = r.int("FailuresBeforeWarning");
  def.FailuresBeforeCritical = r.int("FailuresBeforeCritical");
  def.DeregisterCriticalServiceAfter = r.duration("DeregisterCriticalServiceAfter");
  def.OutputMaxSize = r.int("OutputMaxSize");
  if (options.validate ?? true) validateCheckDefinition(def, options.scripts);
  return def;
}

class Reader {
  private readonly o: Record<string, unknown>;
  private readonly goType: string;

  constructor(o: Record<string, unknown>, goType: string) {
    this.o = o;
    this.goType = goType;
  }

  has(name: string): boolean {
    const v = field(this.o, name);
    return v !== undefined && v !== null;
  }

  str(name: string): string {
    const v = field(this.o, name);
    if (v === undefined || v === null) return "";
    if (typeof v !== "string") throw this.typeError(name, v, "string");
    const problem = stringProblem(name, v);
    if (problem !== null) throw decodeError(`Request decode failed: ${problem}`);
    return v;
  }

  bool(name: string): boolean {
    const v = field(this.o, name);
    if (v === undefined || v === null) return false;
    if (typeof v !== "boolean") throw this.typeError(name, v, "bool");
    return v;
  }

  int(name: string): number {
    const v = field(this.o, name);
    if (v === undefined || v === null) return 0;
    if (typeof v !== "number" || !Number.isSafeInteger(v)) throw this.typeError(name, v, "int");
    return v;
  }

  strList(name: string): string[] {
    const v = field(this.o, name);
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw this.typeError(name, v, "[]string");
    for (const item of v) if (typeof item !== "string") throw this.typeError(name, item, "string");
    return [...(v as string[])];
  }

  header(name: string): Record<string, string[]> {
    const v = field(this.o, name);
    if (v === undefined || v === null) return {};
    if (!isObject(v)) throw this.typeError(name, v, "map[string][]string");
    const out: Record<string, string[]> = {};
    for (const [k, list] of Object.entries(v)) {
      if (list === null) {
        out[k] = [];
        continue;
      }
      if (!Array.isArray(list)) throw this.typeError(name, list, "[]string");
      for (const item of list) if (typeof item !== "string") throw this.typeError(name, item, "string");
      out[k] = [...(list as string[])];
    }
    return out;
  }

  /** Go strings parse as durations, numbers are nanoseconds, anything else is ignored (as Consul's decoder does). */
  duration(name: string): number {
    const v = field(this.o, name);
    if (typeof v === "number" && Number.isFinite(v)) return v / 1e6;
    if (typeof v !== "string") return 0;
    const ms = parseGoDuration(v);
    if (ms === null) {
      const missingUnit = /^[+-]?[0-9.]+$/.test(v.trim()) && v.trim() !== "0";
      throw decodeError(`time: ${missingUnit ? "missing unit in duration" : "invalid duration"} ${JSON.stringify(v)}`);
    }
    return ms;
  }

  private typeError(name: string, value: unknown, goType: string): CheckDefinitionError {
    const kind = typeof value === "number" && goType === "int" ? `number ${value}` : jsonKind(value);
    return decodeError(`json: cannot unmarshal ${kind} into Go struct field ${this.goType}.${name} of type ${goType}`);
  }
}

function decodeError(message: string): CheckDefinitionError {
  return new CheckDefinitionError(CheckErrorCode.Decode, message);
}

function jsonKind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "object") return "object";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}
