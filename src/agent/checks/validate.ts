/** Consul's CheckType.Validate, its Type() and the agent's script-check gate. */
import type { CheckDefinition } from "./definition.ts";
import { CheckDefinitionError, CheckErrorCode } from "./errors.ts";

/** Consul's check `Type` strings, as stored on HealthCheck.Type. */
export const CheckKind = {
  GRPC: "grpc",
  HTTP: "http",
  TTL: "ttl",
  TCP: "tcp",
  UDP: "udp",
  Alias: "alias",
  Docker: "docker",
  Script: "script",
  H2PING: "h2ping",
  OSService: "os_service",
} as const;
export type CheckKind = (typeof CheckKind)[keyof typeof CheckKind];

/** Where a definition came from and what the agent allows (Consul's config source and script flags). */
export interface ScriptPolicy {
  /** "local" for config files, "remote" for the HTTP API. */
  source: "local" | "remote";
  /** `enable_script_checks`: scripts from anywhere. */
  enableScriptChecks: boolean;
  /** `enable_local_script_checks`: scripts from config files only. */
  enableLocalScriptChecks: boolean;
}

export const isAlias = (d: CheckDefinition): boolean => d.AliasNode !== "" || d.AliasService !== "";
export const isScript = (d: CheckDefinition): boolean => d.ScriptArgs.length > 0;

/**
 * Consul's CheckType.Type(): the first matching kind in Consul's order, or ""
 * for a definition that is none of them.
 */
export function checkType(d: CheckDefinition): CheckKind | "" {
  const probing = d.Interval > 0;
  if (d.GRPC !== "" && probing) return CheckKind.GRPC;
  if (d.HTTP !== "" && probing) return CheckKind.HTTP;
  if (d.TTL > 0) return CheckKind.TTL;
  if (d.TCP !== "" && probing) return CheckKind.TCP;
  if (d.UDP !== "" && probing) return CheckKind.UDP;
  if (isAlias(d)) return CheckKind.Alias;
  if (isScript(d) && d.DockerContainerID !== "" && probing) return CheckKind.Docker;
  if (isScript(d) && probing) return CheckKind.Script;
  if (d.H2PING !== "" && probing) return CheckKind.H2PING;
  if (d.OSService !== "" && probing) return CheckKind.OSService;
  return "";
}

/**
 * Throws a CheckDefinitionError carrying Consul's message when the
 * definition is not a usable check. A definition with no type at all fails
 * as Consul's does, with "TTL must be > 0 for TTL checks".
 */
export function validateCheckDefinition(d: CheckDefinition, scripts?: ScriptPolicy): void {
  const invalid = (msg: string) => new CheckDefinitionError(CheckErrorCode.Invalid, msg);
  const intervalCheck = isScript(d) || d.HTTP !== "" || d.TCP !== "" || d.UDP !== "" || d.GRPC !== "" || d.H2PING !== "" || d.OSService !== "";
  if (d.Interval > 0 && d.TTL > 0) throw invalid("Interval and TTL cannot both be specified");
  if (intervalCheck && d.Interval <= 0) {
    throw invalid("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks");
  }
  if (intervalCheck && isAlias(d)) throw invalid("Interval cannot be set for Alias checks");
  if (isAlias(d) && d.TTL > 0) throw invalid("TTL must be not be set for Alias checks");
  if (!intervalCheck && !isAlias(d) && d.TTL <= 0) throw invalid("TTL must be > 0 for TTL checks");
  if (d.OutputMaxSize < 0) throw invalid("MaxOutputMaxSize must be positive");
  if (d.FailuresBeforeWarning > d.FailuresBeforeCritical) {
    throw invalid("FailuresBeforeWarning can't be higher than FailuresBeforeCritical");
  }
  if (scripts && isScript(d)) checkScriptsAllowed(scripts);
}

function checkScriptsAllowed(p: ScriptPolicy): void {
  if (p.source === "local" && !(p.enableLocalScriptChecks || p.enableScriptChecks)) {
    throw new CheckDefinitionError(
      CheckErrorCode.ScriptsDisabled,
      "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true",
    );
  }
  if (p.source === "remote" && !p.enableScriptChecks) {
    throw new CheckDefinitionError(
      CheckErrorCode.ScriptsDisabledRemote,
      "Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true",
    );
  }
}

/** The statuses a check may be registered with or set to. */
export function isCheckStatus(s: string): s is "passing" | "warning" | "critical" {
  return s === "passing" || s === "warning" || s === "critical";
}
