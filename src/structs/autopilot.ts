/**
 * Autopilot configuration (Consul's structs.AutopilotConfig, as
 * `/v1/operator/autopilot/configuration` shows it: durations as Go strings).
 */
export interface AutopilotConfigBody {
  CleanupDeadServers: boolean;
  LastContactThreshold: string;
  MaxTrailingLogs: number;
  MinQuorum: number;
  ServerStabilizationTime: string;
  RedundancyZoneTag: string;
  DisableUpgradeMigration: boolean;
  UpgradeVersionTag: string;
}

export interface AutopilotConfigRow extends AutopilotConfigBody {
  CreateIndex: number;
  ModifyIndex: number;
}

/** Consul's defaults (agent/config/default.go), used until a configuration is written. */
export const AUTOPILOT_DEFAULTS: Readonly<AutopilotConfigBody> = {
  CleanupDeadServers: true,
  LastContactThreshold: "200ms",
  MaxTrailingLogs: 250,
  MinQuorum: 0,
  ServerStabilizationTime: "10s",
  RedundancyZoneTag: "",
  DisableUpgradeMigration: false,
  UpgradeVersionTag: "",
};

/** Thrown for a configuration body that cannot be decoded; the message is Consul's. */
export class AutopilotConfigError extends Error {
  override readonly name = "AutopilotConfigError";
}

const FIELDS: Readonly<Record<string, keyof AutopilotConfigBody>> = Object.fromEntries(
  (Object.keys(AUTOPILOT_DEFAULTS) as (keyof AutopilotConfigBody)[]).map((k) => [k.toLowerCase(), k]),
);

/**
 * Decodes a PUT body the way Consul's api.AutopilotConfiguration does: field
 * names case-insensitive, absent fields zero (not the defaults), durations
 * as Go strings ("5s") or nanosecond numbers, CreateIndex/ModifyIndex ignored.
 */
export function decodeAutopilotConfig(raw: unknown, parseDuration: (text: string) => number | null, formatDuration: (ms: number) => string): AutopilotConfigBody {
  const fail = (why: string): never => {
    throw new AutopilotConfigError(`Error parsing autopilot config: ${why}`);
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) fail("body must be a JSON object");
  const out: AutopilotConfigBody = { CleanupDeadServers: false, LastContactThreshold: "0s", MaxTrailingLogs: 0, MinQuorum: 0, ServerStabilizationTime: "0s", RedundancyZoneTag: "", DisableUpgradeMigration: false, UpgradeVersionTag: "" };
  for (const [name, value] of Object.entries(raw as Record<string, unknown>)) {
    const key = FIELDS[name.toLowerCase()];
    if (key === undefined) continue;
    switch (key) {
      case "CleanupDeadServers":
      case "DisableUpgradeMigration":
        if (typeof value !== "boolean") fail(`${key} must be a boolean`);
        out[key] = value as boolean;
        break;
      case "MaxTrailingLogs":
      case "MinQuorum": {
        const n = typeof value === "bigint" ? Number(value) : value;
        if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) fail(`${key} must be a non-negative integer`);
        out[key] = n as number;
        break;
      }
      case "LastContactThreshold":
      case "ServerStabilizationTime": {
        let ms: number | null = null;
        if (typeof value === "string") ms = parseDuration(value);
        else if (typeof value === "number" && Number.isFinite(value)) ms = value / 1e6;
        else if (typeof value === "bigint") ms = Number(value) / 1e6;
        if (ms === null) fail(`time: invalid duration ${JSON.stringify(typeof value === "bigint" ? String(value) : value)}`);
        out[key] = formatDuration(ms as number);
        break;
      }
      case "RedundancyZoneTag":
      case "UpgradeVersionTag":
        if (typeof value !== "string") fail(`${key} must be a string`);
        out[key] = value as string;
        break;
    }
  }
  return out;
}
