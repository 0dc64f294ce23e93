/** `consulate config read|list|delete`. */
import type { ConfigEntry } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, stringFlag, uint64Flag } from "../flags.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import { kindAndName } from "./write.ts";

export const configReadCommand = defineCommand({
  synopsis: "Read a centralized config entry",
  help: `
Usage: consulate config read [options] -kind <config kind> -name <config name>

  Reads the config entry specified by the given kind and name and outputs its
  JSON representation.

  Example:

    $ consulate config read -kind proxy-defaults -name global
`,
  flags: {
    ...clientFlags,
    ...serverFlags,
    kind: stringFlag("", "The kind of configuration to read."),
    name: stringFlag("", "The name of configuration to read."),
  },
  async run({ values }, ui) {
    if (values.kind === "") {
      ui.error("Must specify the -kind parameter");
      return 1;
    }
    if (values.name === "") {
      ui.error("Must specify the -name parameter");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let entry: ConfigEntry;
    try {
      [entry] = await client.configEntries().get(values.kind, values.name);
    } catch (err) {
      ui.error(`Error reading config entry ${JSON.stringify(values.kind)} / ${JSON.stringify(values.name)}: ${errorText(err)}`);
      return 1;
    }
    ui.info(JSON.stringify(entry, null, 4));
    return 0;
  },
});

export const configListCommand = defineCommand({
  synopsis: "List centralized config entries of a given kind",
  help: `
Usage: consulate config list [options] -kind <config kind>

  Lists all of the config entries for a given kind. The -kind parameter
  is required.

  Example:

    $ consulate config list -kind service-defaults
`,
  flags: {
    ...clientFlags,
    ...serverFlags,
    kind: stringFlag("", "The kind of configurations to list."),
    filter: stringFlag("", "Filter to use with the request."),
  },
  async run({ values }, ui) {
    if (values.kind === "") {
      ui.error("Must specify the -kind parameter");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let entries: ConfigEntry[];
    try {
      [entries] = await client.configEntries().list(values.kind, values.filter ? { filter: values.filter } : undefined);
    } catch (err) {
      ui.error(`Error listing config entries for kind ${JSON.stringify(values.kind)}: ${errorText(err)}`);
      return 1;
    }
    for (const e of entries) ui.info(kindAndName(e).name);
    return 0;
  },
});

export const configDeleteCommand = defineCommand({
  synopsis: "Delete a centralized config entry",
  help: `
Usage: consulate config delete [options] -kind <config kind> -name <config name>

  Deletes the configuration entry specified by the kind and name.

  Example:

    $ consulate config delete -kind service-defaults -name web
`,
  flags: {
    ...clientFlags,
    ...serverFlags,
    kind: stringFlag("", "The kind of configuration to delete."),
    name: stringFlag("", "The name of configuration to delete."),
    cas: boolFlag(false, "Perform a Check-And-Set operation. Specifying this value also requires the -modify-index flag to be set. The default value is false."),
    "modify-index": uint64Flag(0n, "Unsigned integer representing the ModifyIndex of the config entry. This is used in combination with the -cas flag."),
  },
  async run({ values }, ui) {
    if (values.kind === "") {
      ui.error("Must specify the -kind parameter");
      return 1;
    }
    if (values.name === "") {
      ui.error("Must specify the -name parameter");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let deleted: boolean;
    try {
      const entries = client.configEntries();
      if (values.cas) deleted = await entries.deleteCAS(values.kind, values.name, Number(values["modify-index"]));
      else {
        await entries.delete(values.kind, values.name);
        deleted = true;
      }
    } catch (err) {
      ui.error(`Error deleting config entry ${values.kind}/${values.name}: ${errorText(err)}`);
      return 1;
    }
    if (!deleted) {
      ui.error(`Config entry not deleted: ${values.kind}/${values.name}`);
      return 1;
    }
    ui.info(`Config entry deleted: ${values.kind}/${values.name}`);
    return 0;
  },
});
