/** Sub-structures shared by several config entry kinds (agent/structs/config_entry*.go). */
import { any, bool, durationNs, int, list, ptr, str, strMap, struct, time, uint } from "../schema.ts";

export const meshGateway = struct(["Mode", str, "o"]);
export const transparentProxy = struct(["OutboundListenerPort", int, "o"], ["DialedDirectly", bool, "o"]);
export const exposePath = struct(
  ["ListenerPort", int, "o"],
  ["Path", str, "o"],
  ["LocalPathPort", int, "o"],
  ["Protocol", str, "o"],
  ["ParsedFromCheck", bool],
);
export const expose = struct(["Checks", bool, "o"], ["Paths", list(exposePath), "o"]);

export const envoyExtension = struct(["Name", str], ["Required", bool], ["Arguments", any], ["ConsulVersion", str], ["EnvoyVersion", str]);

export const accessLogs = struct(
  ["Enabled", bool, "o"],
  ["DisableListenerLogs", bool, "o"],
  ["Type", str, "o"],
  ["Path", str, "o"],
  ["JSONFormat", str, "o", ["json_format"]],
  ["TextFormat", str, "o"],
);

export const passiveHealthCheck = struct(
  ["Interval", durationNs, "o"],
  ["MaxFailures", uint, "o"],
  ["EnforcingConsecutive5xx", ptr(uint), "o", ["enforcing_consecutive_5xx"]],
  ["MaxEjectionPercent", ptr(uint), "o"],
  ["BaseEjectionTime", ptr(durationNs), "o"],
);

export const upstreamLimits = struct(
  ["MaxConnections", ptr(int), "o"],
  ["MaxPendingRequests", ptr(int), "o"],
  ["MaxConcurrentRequests", ptr(int), "o"],
);

/** UpstreamConfig; `Name` and `Peer` only inside UpstreamConfig.Overrides. */
export const upstreamConfig = struct(
  ["Name", str, "o"],
  ["Peer", str, "o"],
  ["EnvoyListenerJSON", str, "o", ["envoy_listener_json"]],
  ["EnvoyClusterJSON", str, "o", ["envoy_cluster_json"]],
  ["Protocol", str, "o"],
  ["ConnectTimeoutMs", int, "o"],
  ["Limits", ptr(upstreamLimits), "o"],
  ["PassiveHealthCheck", ptr(passiveHealthCheck), "o"],
  ["MeshGateway", meshGateway, "o"],
  ["BalanceOutboundConnections", str, "o"],
);

export const headerModifiers = struct(["Add", strMap, "o"], ["Set", strMap, "o"], ["Remove", list(str), "o"]);

export const failoverPolicy = struct(["Mode", str, "o"], ["Regions", list(str), "o"]);
export const prioritizeByLocality = struct(["Mode", str, "o"]);

export const resourceReference = struct(["Kind", str], ["Name", str], ["SectionName", str]);
export const condition = struct(
  ["Type", str],
  ["Status", str],
  ["Reason", str],
  ["Message", str],
  ["Resource", ptr(resourceReference)],
  ["LastTransitionTime", ptr(time)],
);
export const status = struct(["Conditions", list(condition)]);

export const meta: readonly ["Meta", typeof strMap, "o"] = ["Meta", strMap, "o"];
