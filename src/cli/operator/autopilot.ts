/** `consulate operator autopilot get-config | set-config | state` (Consul's command/operator/autopilot/). */
import type { AutopilotConfigBody, AutopilotStateReply } from "../../api/operator.ts";
import { defineCommand, errorText } from "../command.ts";
import { stringFlag } from "../flags.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import { groupCommand } from "../subcommands.ts";
import { formatGoDuration, parseGoDuration } from "../../structs/duration.ts";

export const operatorAutopilotGetCommand = defineCommand({
  synopsis: "Display the current Autopilot configuration",
  help: `
Usage: consulate operator autopilot get-config [options]

  Displays the current Autopilot configuration.
`,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      const c = await client.operator().autopilotGetConfiguration({ stale: values.stale });
      ui.output(formatAutopilotConfig(c));
      return 0;
    } catch (err) {
      ui.error(`Error querying Autopilot configuration: ${errorText(err)}`);
      return 1;
    }
  },
});

export function formatAutopilotConfig(c: AutopilotConfigBody): string {
  return [
    `CleanupDeadServers = ${c.CleanupDeadServers}`,
    `LastContactThreshold = ${c.LastContactThreshold}`,
    `MaxTrailingLogs = ${c.MaxTrailingLogs}`,
    `MinQuorum = ${c.MinQuorum}`,
    `ServerStabilizationTime = ${c.ServerStabilizationTime}`,
    `RedundancyZoneTag = ${JSON.stringify(c.RedundancyZoneTag)}`,
    `DisableUpgradeMigration = ${c.DisableUpgradeMigration}`,
    `UpgradeVersionTag = ${JSON.stringify(c.UpgradeVersionTag)}`,
  ].join("\n");
}

/** Flags left empty keep the current value (Consul's optional flag values). */
const setFlags = {
  "cleanup-dead-servers": stringFlag("", "Controls whether Consul will automatically remove dead servers when new ones are successfully added. Must be one of `true|false`.", { placeholder: "bool" }),
  "max-trailing-logs": stringFlag("", "Controls the maximum number of log entries that a server can trail the leader by before being considered unhealthy.", { placeholder: "uint" }),
  "min-quorum": stringFlag("", "Sets the minimum number of servers required in a cluster before autopilot can prune dead servers.", { placeholder: "uint" }),
  "last-contact-threshold": stringFlag("", "Controls the maximum amount of time a server can go without contact from the leader before being considered unhealthy. Must be a duration value such as `200ms`.", { placeholder: "duration" }),
  "server-stabilization-time": stringFlag("", "Controls the minimum amount of time a server must be stable in the 'healthy' state before being added to the cluster. Only takes effect if all servers are running Raft protocol version 3 or higher. Must be a duration value such as `10s`.", { placeholder: "duration" }),
  "disable-upgrade-migration": stringFlag("", "(Enterprise-only) Controls whether Consul will avoid promoting new servers until it can perform a migration. Must be one of `true|false`.", { placeholder: "bool" }),
  "redundancy-zone-tag": stringFlag("", "(Enterprise-only) Controls the node_meta tag name used for separating servers into different redundancy zones.", { placeholder: "string" }),
  "upgrade-version-tag": stringFlag("", "(Enterprise-only) The node_meta tag to use for version info when performing upgrade migrations. If left blank, the Consul version will be used.", { placeholder: "string" }),
};

function applyFlags(c: AutopilotConfigBody, v: Record<keyof typeof setFlags, string>): AutopilotConfigBody | string {
  const out = { ...c };
  const bool = (name: string, raw: string): boolean | string => (raw === "true" ? true : raw === "false" ? false : `Invalid value "${raw}" for -${name} flag: parse error`);
  const uint = (name: string, raw: string): number | string => (/^[0-9]+$/.test(raw) && Number.isSafeInteger(Number(raw)) ? Number(raw) : `Invalid value "${raw}" for -${name} flag: parse error`);
  const dur = (name: string, raw: string): string => {
    const ms = parseGoDuration(raw);
    return ms === null || ms < 0 ? `\u0000Invalid value "${raw}" for -${name} flag: parse error` : formatGoDuration(ms);
  };
  for (const [flag, field, kind] of [
    ["cleanup-dead-servers", "CleanupDeadServers", "bool"],
    ["disable-upgrade-migration", "DisableUpgradeMigration", "bool"],
    ["max-trailing-logs", "MaxTrailingLogs", "uint"],
    ["min-quorum", "MinQuorum", "uint"],
    ["last-contact-threshold", "LastContactThreshold", "dur"],
    ["server-stabilization-time", "ServerStabilizationTime", "dur"],
    ["redundancy-zone-tag", "RedundancyZoneTag", "str"],
    ["upgrade-version-tag", "UpgradeVersionTag", "str"],
  ] as const) {
    const raw = v[flag];
    if (raw === "") continue;
    const value = kind === "bool" ? bool(flag, raw) : kind === "uint" ? uint(flag, raw) : kind === "dur" ? dur(flag, raw) : raw;
    if ((kind === "bool" || kind === "uint") && typeof value === "string") return value;
    if (kind === "dur" && (value as string).startsWith("\u0000")) return (value as string).slice(1);
    (out as Record<string, unknown>)[field] = value;
  }
  return out;
}

export const operatorAutopilotSetCommand = defineCommand({
  synopsis: "Modify the current Autopilot configuration",
  help: `
Usage: consulate operator autopilot set-config [options]

  Modifies the current Autopilot configuration.
`,
  flags: { ...clientFlags, ...setFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const op = client.operator();
    let current;
    try {
      current = await op.autopilotGetConfiguration();
    } catch (err) {
      ui.error(`Error querying Autopilot configuration: ${errorText(err)}`);
      return 1;
    }
    const next = applyFlags(current, values);
    if (typeof next === "string") {
      ui.error(next);
      return 1;
    }
    const { CreateIndex: _c, ModifyIndex, ...body } = { ...current, ...next };
    try {
      if (await op.autopilotSetConfiguration(body, ModifyIndex)) {
        ui.output("Configuration updated!");
        return 0;
      }
      ui.output("Configuration could not be atomically updated, please try again");
      return 1;
    } catch (err) {
      ui.error(`Error setting Autopilot configuration: ${errorText(err)}`);
      return 1;
    }
  },
});

export function formatAutopilotState(s: AutopilotStateReply): string {
  const lines = [
    `Healthy:                      ${s.Healthy}`,
    `Failure Tolerance:            ${s.FailureTolerance}`,
    `Optimistic Failure Tolerance: ${s.OptimisticFailureTolerance}`,
    `Leader:                       ${s.Leader}`,
    "Voters:",
    ...s.Voters.map((v) => `   ${v}`),
    "",
    "Servers:",
  ];
  for (const id of Object.keys(s.Servers).sort()) {
    const v = s.Servers[id]!;
    lines.push(
      `   ${v.ID}`,
      `      Name:            ${v.Name}`,
      `      Address:         ${v.Address}`,
      `      Version:         ${v.Version}`,
      `      Status:          ${v.Status}`,
      `      Node Type:       ${v.NodeType}`,
      `      Node Status:     ${v.NodeStatus}`,
      `      Healthy:         ${v.Healthy}`,
      `      Last Contact:    ${v.LastContact}`,
      `      Last Term:       ${v.LastTerm}`,
      `      Last Index:      ${v.LastIndex}`,
    );
  }
  return lines.join("\n");
}

export const operatorAutopilotStateCommand = defineCommand({
  synopsis: "Display the current Autopilot state",
  help: `
Usage: consulate operator autopilot state [options]

  Displays the current Autopilot state.
`,
  flags: { ...clientFlags, ...serverFlags, format: stringFlag("pretty", "Specifies the output format. Must be one of pretty|json.") },
  async run({ values }, ui) {
    if (values.format !== "pretty" && values.format !== "json") {
      ui.error(`Invalid format "${values.format}". Must be one of pretty|json`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      const s = await client.operator().autopilotState({ stale: values.stale });
      ui.output(values.format === "json" ? JSON.stringify(s, null, 2) : formatAutopilotState(s));
      return 0;
    } catch (err) {
      ui.error(`Error querying Autopilot state: ${errorText(err)}`);
      return 1;
    }
  },
});

export const operatorAutopilotCommand = groupCommand(
  "operator autopilot",
  "Provides tools for modifying Autopilot configuration",
  `
  The Autopilot operator command is used to interact with Consul's Autopilot
  subsystem. The command can be used to view or modify the current configuration.
`,
  { "get-config": operatorAutopilotGetCommand, "set-config": operatorAutopilotSetCommand, state: operatorAutopilotStateCommand },
);
