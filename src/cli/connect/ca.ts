/** `consulate connect ca get-config|set-config` (Consul's command/connect/ca). */
import type { CAConfig } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, stringFlag } from "../flags.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import { groupCommand } from "../subcommands.ts";

/** Go's json.MarshalIndent with a tab: struct fields in order, map keys sorted. */
function marshalIndent(config: CAConfig): string {
  const sorted = (m: Record<string, unknown> | null | undefined) =>
    m === null || m === undefined ? null : Object.fromEntries(Object.keys(m).sort().map((k) => [k, m[k]]));
  const ordered = {
    Provider: config.Provider,
    Config: sorted(config.Config),
    State: sorted(config.State ?? null),
    ForceWithoutCrossSigning: config.ForceWithoutCrossSigning ?? false,
    CreateIndex: config.CreateIndex ?? 0,
    ModifyIndex: config.ModifyIndex ?? 0,
  };
  return JSON.stringify(ordered, null, "\t");
}

export const connectCAGetCommand = defineCommand({
  synopsis: "Display the current Connect Certificate Authority (CA) configuration",
  help: `
Usage: consulate connect ca get-config [options]

  Displays the current Connect Certificate Authority (CA) configuration.
`,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let config: CAConfig;
    try {
      [config] = await client.connectCA().caGetConfig(values.stale ? { stale: true } : undefined);
    } catch (err) {
      ui.error(`Error querying CA configuration: ${errorText(err)}`);
      return 1;
    }
    ui.output(marshalIndent(config));
    return 0;
  },
});

export const connectCASetCommand = defineCommand({
  synopsis: "Modify the current Connect CA configuration",
  help: `
Usage: consulate connect ca set-config [options]

  Modifies the current Connect Certificate Authority (CA) configuration.
`,
  flags: {
    ...clientFlags,
    ...serverFlags,
    "config-file": stringFlag("", "The path to the config file to use."),
    "force-without-cross-signing": boolFlag(
      false,
      "Indicates that the CA reconfiguration should go ahead even if the current CA is unable to cross sign certificates. " +
        "This risks temporary connection failures during the rollout as new leafs will be rejected by proxies that have not " +
        "yet observed the new root cert but is the only option if a CA that doesn't support cross signing needs to be " +
        "reconfigured or mirated away from.",
    ),
  },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const path = values["config-file"];
    if (path === "") {
      ui.error("The -config-file flag is required");
      return 1;
    }
    let text: string;
    try {
      text = new TextDecoder().decode(await ui.io.readFile(path));
    } catch (err) {
      ui.error(`Error reading config file: ${errorText(err)}`);
      return 1;
    }
    let config: CAConfig;
    try {
      const parsed = JSON.parse(text) as unknown;
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("json: cannot unmarshal into Go value of type api.CAConfig");
      config = parsed as CAConfig;
    } catch (err) {
      ui.error(`Error parsing config file: ${errorText(err)}`);
      return 1;
    }
    config.ForceWithoutCrossSigning = values["force-without-cross-signing"];
    try {
      await client.connectCA().caSetConfig(config);
    } catch (err) {
      ui.error(`Error setting CA configuration: ${errorText(err)}`);
      return 1;
    }
    ui.output("Configuration updated!");
    return 0;
  },
});

export const connectCACommand = groupCommand(
  "connect ca",
  "Interact with the Consul Connect Certificate Authority (CA)",
  `
  This command has subcommands for interacting with Consul Connect's
  Certificate Authority (CA).

  Here are some simple examples, and more detailed examples are available
  in the subcommands or the documentation.

  Get the configuration:

      $ consulate connect ca get-config

  Update the configuration:

      $ consulate connect ca set-config -config-file ca.json

  For more examples, ask for subcommand help or view the documentation.
`,
  { "get-config": connectCAGetCommand, "set-config": connectCASetCommand },
);
