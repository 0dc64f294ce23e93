/** Builds the runner for a check definition, with Consul's defaults and limits applied. */
import { AliasCheck, type AliasSource } from "./alias.ts";
import type { CheckDefinition } from "./definition.ts";
import { CheckDefinitionError, CheckErrorCode } from "./errors.ts";
import { grpcProbe } from "./grpc.ts";
import { h2pingProbe } from "./h2ping.ts";
import { httpProbe } from "./http.ts";
import { effectiveOutputMaxSize } from "./output.ts";
import { PeriodicCheck, type Probe } from "./periodic.ts";
import { initialStatus } from "./reporter.ts";
import { scriptProbe } from "./script.ts";
import { tcpProbe } from "./tcp.ts";
import { TtlCheck } from "./ttl.ts";
import {
  type CheckRunner,
  DEFAULT_SCRIPT_TIMEOUT_MS,
  DEFAULT_TIMEOUT_MS,
  MIN_INTERVAL_MS,
  type RunnerEnv,
} from "./types.ts";
import { udpProbe } from "./udp.ts";
import { CheckKind, checkType, validateCheckDefinition } from "./validate.ts";

export interface RunnerDeps {
  /** Required for alias checks: where the aliased checks come from. */
  alias?: AliasSource;
}

/**
 * A runner for `def`, not yet started. The definition is validated first
 * (CheckDefinitionError as Consul words it); Docker and OSService checks,
 * valid in Consul, are refused as unsupported. An interval below the
 * minimum is raised to it with a warning, as Consul's agent does.
 *
 * @example
 * ```ts
 * const runner = createRunner(def, { clock: systemClock, random: Math.random, onUpdate: (u) => state.update(id, u) });
 * runner.start();
 * ```
 */
export function createRunner(def: CheckDefinition, env: RunnerEnv, deps: RunnerDeps = {}): CheckRunner {
  validateCheckDefinition(def);
  const kind = checkType(def);
  const initial = initialStatus(def.Status);
  const outputMaxSize = effectiveOutputMaxSize(env.outputMaxSize, def.OutputMaxSize);
  const timeout = (fallback: number) => (def.Timeout > 0 ? def.Timeout : fallback);
  const periodic = (probe: Probe) => {
    const min = env.minIntervalMs ?? MIN_INTERVAL_MS;
    let intervalMs = def.Interval;
    if (intervalMs < min) {
      env.logger?.warn(`check has interval below minimum: check=${def.ID} minimum_interval=${min}ms`);
      intervalMs = min;
    }
    return new PeriodicCheck(
      {
        kind: kind as CheckKind,
        intervalMs,
        initial,
        probe,
        thresholds: {
          successBeforePassing: def.SuccessBeforePassing,
          failuresBeforeWarning: def.FailuresBeforeWarning,
          failuresBeforeCritical: def.FailuresBeforeCritical,
        },
      },
      env,
    );
  };
  const tls = { tlsSkipVerify: def.TLSSkipVerify, tlsServerName: def.TLSServerName };
  switch (kind) {
    case CheckKind.TTL:
      return new TtlCheck({ ttlMs: def.TTL, initial, outputMaxSize }, env);
    case CheckKind.HTTP:
      return periodic(
        httpProbe(
          {
            url: def.HTTP,
            method: def.Method,
            header: def.Header,
            body: def.Body,
            timeoutMs: timeout(DEFAULT_TIMEOUT_MS),
            disableRedirects: def.DisableRedirects,
            outputMaxSize,
            ...tls,
          },
          env.clock,
        ),
      );
    case CheckKind.TCP:
      return periodic(tcpProbe({ address: def.TCP, timeoutMs: timeout(DEFAULT_TIMEOUT_MS), useTls: def.TCPUseTLS, ...tls }, env.clock));
    case CheckKind.UDP:
      return periodic(udpProbe(def.UDP, timeout(DEFAULT_TIMEOUT_MS), env.clock));
    case CheckKind.GRPC:
      return periodic(grpcProbe({ target: def.GRPC, timeoutMs: timeout(DEFAULT_TIMEOUT_MS), useTls: def.GRPCUseTLS, ...tls }, env.clock));
    case CheckKind.H2PING:
      return periodic(h2pingProbe({ target: def.H2PING, timeoutMs: timeout(DEFAULT_TIMEOUT_MS), useTls: def.H2PingUseTLS, ...tls }, env.clock));
    case CheckKind.Script:
      return periodic(scriptProbe({ args: def.ScriptArgs, timeoutMs: timeout(DEFAULT_SCRIPT_TIMEOUT_MS), outputMaxSize }, env.clock));
    case CheckKind.Alias:
      if (!deps.alias) throw new TypeError("Alias checks need an alias source");
      return new AliasCheck({ node: def.AliasNode, serviceId: def.AliasService }, initial, deps.alias, env);
    case CheckKind.Docker:
    case CheckKind.OSService:
      throw new CheckDefinitionError(CheckErrorCode.Unsupported, `${kind} checks are not supported by this agent`);
    default:
      throw new CheckDefinitionError(CheckErrorCode.Invalid, "Check type is not valid");
  }
}
