import { expect, test } from "bun:test";
import {
  CheckDefinitionError,
  CheckErrorCode,
  checkType,
  createRunner,
  decodeCheckDefinition,
  emptyCheckDefinition,
  encodeCheckDefinition,
  healthCheckDefinition,
  isEmptyCheckDefinition,
} from "../../../src/agent/checks/mod.ts";
import { recorder } from "./_helpers.ts";

function decodeError(raw: unknown, options?: Parameters<typeof decodeCheckDefinition>[1]): CheckDefinitionError {
  try {
    decodeCheckDefinition(raw, options);
  } catch (err) {
    expect(err).toBeInstanceOf(CheckDefinitionError);
    return err as CheckDefinitionError;
  }
  throw new Error("expected a CheckDefinitionError");
}

test("decodes Consul's JSON in any case, with snake_case aliases and both duration forms", () => {
  const def = decodeCheckDefinition({
    id: "api",
    name: "HTTP API",
    service_id: "web",
    http: "https://localhost:5000/health",
    tls_server_name: "api.local",
    tls_skip_verify: true,
    method: "POST",
    header: { "Content-Type": ["application/json"] },
    body: '{"method":"health"}',
    disable_redirects: true,
    interval: "10s",
    timeout: 1_500_000_000,
    deregister_critical_service_after: "90m",
    success_before_passing: 2,
    failures_before_warning: 1,
    failures_before_critical: 3,
    output_max_size: 100,
    status: "passing",
    notes: "n",
  });
  expect(def.ID).toBe("api");
  expect(def.ServiceID).toBe("web");
  expect(def.TLSServerName).toBe("api.local");
  expect(def.TLSSkipVerify).toBe(true);
  expect(def.Header).toEqual({ "Content-Type": ["application/json"] });
  expect(def.DisableRedirects).toBe(true);
  expect(def.Interval).toBe(10_000);
  expect(def.Timeout).toBe(1500);
  expect(def.DeregisterCriticalServiceAfter).toBe(90 * 60_000);
  expect([def.SuccessBeforePassing, def.FailuresBeforeWarning, def.FailuresBeforeCritical]).toEqual([2, 1, 3]);
  expect(def.OutputMaxSize).toBe(100);
  expect(checkType(def)).toBe("http");
});

test("args and ScriptArgs both fill ScriptArgs; CheckID stands in for ID", () => {
  expect(decodeCheckDefinition({ args: ["/bin/true"], interval: "5s" }).ScriptArgs).toEqual(["/bin/true"]);
  expect(decodeCheckDefinition({ ScriptArgs: ["a", "b"], Interval: "5s" }).ScriptArgs).toEqual(["a", "b"]);
  expect(decodeCheckDefinition({ script_args: ["c"], interval: "5s" }).ScriptArgs).toEqual(["c"]);
  expect(decodeCheckDefinition({ CheckID: "x", TTL: "5s" }).ID).toBe("x");
});

test("checkType gives Consul's Type string for each kind", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ HTTP: "http://x", Interval: "1s" }, "http"],
    [{ TCP: "x:1", Interval: "1s" }, "tcp"],
    [{ UDP: "x:1", Interval: "1s" }, "udp"],
    [{ TTL: "30s" }, "ttl"],
    [{ Args: ["true"], Interval: "1s" }, "script"],
    [{ Args: ["true"], Interval: "1s", DockerContainerID: "abc" }, "docker"],
    [{ GRPC: "x:1/svc", Interval: "1s" }, "grpc"],
    [{ H2PING: "x:1", Interval: "1s" }, "h2ping"],
    [{ AliasService: "web" }, "alias"],
    [{ AliasNode: "n1" }, "alias"],
    [{ OSService: "sshd", Interval: "1s" }, "os_service"],
    // GRPC wins over HTTP, as in Consul's switch order.
    [{ GRPC: "x:1", HTTP: "http://x", Interval: "1s" }, "grpc"],
  ];
  for (const [raw, kind] of cases) expect<string>(checkType(decodeCheckDefinition(raw))).toBe(kind);
});

test("H2PING defaults to TLS unless told otherwise", () => {
  expect(decodeCheckDefinition({ H2PING: "x:1", Interval: "1s" }).H2PingUseTLS).toBe(true);
  expect(decodeCheckDefinition({ h2ping: "x:1", interval: "1s", h2ping_use_tls: false }).H2PingUseTLS).toBe(false);
});

test("a check with no type fails with Consul's text", () => {
  const err = decodeError({ Name: "nothing" });
  expect(err.code).toBe(CheckErrorCode.Invalid);
  expect(err.message).toBe("TTL must be > 0 for TTL checks");
});

test("negative and zero intervals are refused; short ones are accepted (the runner raises them)", () => {
  for (const interval of ["-10s", "0s", -5]) {
    const err = decodeError({ HTTP: "http://127.0.0.1/", Interval: interval });
    expect(err.code).toBe(CheckErrorCode.Invalid);
    expect(err.message).toBe("Interval must be > 0 for Script, HTTP, H2PING, TCP, UDP or OSService checks");
  }
  expect(decodeCheckDefinition({ TCP: "127.0.0.1:1", Interval: "100ms" }).Interval).toBe(100);
});

test("the other Validate rules keep Consul's wording", () => {
  expect(decodeError({ HTTP: "http://x", Interval: "1s", TTL: "1s" }).message).toBe("Interval and TTL cannot both be specified");
  expect(decodeError({ TCP: "x:1", Interval: "1s", AliasService: "web" }).message).toBe("Interval cannot be set for Alias checks");
  expect(decodeError({ AliasService: "web", TTL: "1s" }).message).toBe("TTL must be not be set for Alias checks");
  expect(decodeError({ TTL: "1s", OutputMaxSize: -1 }).message).toBe("MaxOutputMaxSize must be positive");
  expect(decodeError({ TTL: "1s", FailuresBeforeWarning: 3, FailuresBeforeCritical: 2 }).message).toBe(
    "FailuresBeforeWarning can't be higher than FailuresBeforeCritical",
  );
});

test("script checks follow enable_script_checks / enable_local_script_checks", () => {
  const raw = { Args: ["/bin/true"], Interval: "10s" };
  const off = { enableScriptChecks: false, enableLocalScriptChecks: false };
  const local = decodeError(raw, { scripts: { source: "local", ...off } });
  expect(local.code).toBe(CheckErrorCode.ScriptsDisabled);
  expect(local.message).toBe(
    "Scripts are disabled on this agent; to enable, configure 'enable_script_checks' or 'enable_local_script_checks' to true",
  );
  const remote = decodeError(raw, { scripts: { source: "remote", enableScriptChecks: false, enableLocalScriptChecks: true } });
  expect(remote.code).toBe(CheckErrorCode.ScriptsDisabledRemote);
  expect(remote.message).toBe("Scripts are disabled on this agent from remote calls; to enable, configure 'enable_script_checks' to true");
  // Allowed combinations.
  decodeCheckDefinition(raw, { scripts: { source: "local", enableScriptChecks: false, enableLocalScriptChecks: true } });
  decodeCheckDefinition(raw, { scripts: { source: "local", enableScriptChecks: true, enableLocalScriptChecks: false } });
  decodeCheckDefinition(raw, { scripts: { source: "remote", enableScriptChecks: true, enableLocalScriptChecks: false } });
  // Non-script checks are unaffected.
  decodeCheckDefinition({ TTL: "5s" }, { scripts: { source: "remote", ...off } });
});

test("wrong JSON types fail as Go's decoder words them", () => {
  expect(decodeError({ HTTP: 5, Interval: "1s" }).message).toBe(
    "json: cannot unmarshal number into Go struct field CheckDefinition.HTTP of type string",
  );
  expect(decodeError({ TTL: "5s", SuccessBeforePassing: 1.5 }).message).toBe(
    "json: cannot unmarshal number 1.5 into Go struct field CheckDefinition.SuccessBeforePassing of type int",
  );
  expect(decodeError({ TTL: "5s", Header: { A: "b" } }).message).toBe(
    "json: cannot unmarshal string into Go struct field CheckDefinition.Header of type []string",
  );
  expect(decodeError({ TTL: "5s", TLSSkipVerify: "yes" }).code).toBe(CheckErrorCode.Decode);
  expect(decodeError({ Interval: "ten", HTTP: "http://x" }).message).toBe('time: invalid duration "ten"');
  expect(decodeError({ Interval: "10", HTTP: "http://x" }).message).toBe('time: missing unit in duration "10"');
  expect(decodeError([1]).message).toBe("json: cannot unmarshal array into Go value of type structs.CheckDefinition");
});

test("validate:false decodes without judging, and empty definitions are recognised", () => {
  const def = decodeCheckDefinition({}, { validate: false });
  expect(isEmptyCheckDefinition(def)).toBe(true);
  expect(isEmptyCheckDefinition(decodeCheckDefinition({ Notes: "x" }, { validate: false }))).toBe(false);
});

test("encodeCheckDefinition round-trips through the decoder", () => {
  const def = decodeCheckDefinition({
    Name: "g",
    GRPC: "127.0.0.1:9/svc",
    GRPCUseTLS: true,
    Interval: "1m30s",
    Timeout: "250ms",
    DeregisterCriticalServiceAfter: "2h",
    Header: { X: ["1", "2"] },
  });
  expect(decodeCheckDefinition(JSON.parse(JSON.stringify(encodeCheckDefinition(def))))).toEqual(def);
});

test("healthCheckDefinition omits zero values and writes Go durations", () => {
  const def = decodeCheckDefinition({ HTTP: "http://x/", Interval: "10s", Timeout: "1s", Header: { A: ["b"] } });
  expect(healthCheckDefinition(def)).toEqual({ HTTP: "http://x/", Header: { A: ["b"] }, Interval: "10s", Timeout: "1s" });
  expect(healthCheckDefinition(decodeCheckDefinition({ TTL: "30s" }))).toEqual({ TTL: "30s" });
  expect(healthCheckDefinition(emptyCheckDefinition())).toEqual({});
});

test("createRunner refuses what it cannot run", () => {
  const { env } = recorder();
  const docker = decodeCheckDefinition({ Args: ["x"], DockerContainerID: "c", Interval: "1s" });
  expect(() => createRunner(docker, env)).toThrow(CheckDefinitionError);
  const alias = decodeCheckDefinition({ AliasService: "web" });
  expect(() => createRunner(alias, env)).toThrow(TypeError);
  expect(() => createRunner(emptyCheckDefinition(), env)).toThrow("TTL must be > 0 for TTL checks");
});
