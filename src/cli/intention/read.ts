/** `consulate intention get|list|match|check|delete`. */
import type { Client, Intention } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { boolFlag, stringFlag } from "../flags.ts";
import { columnize } from "../format/columnize.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import { intentionLine, rfc850 } from "./format.ts";
import { intentionPart } from "../../api/mod.ts";

/** One intention by ID (one argument) or by source and destination (two). */
async function fromArgs(client: Client, args: string[]): Promise<Intention> {
  if (args.length === 1) {
    let ixn: Intention | null;
    try {
      [ixn] = await client.connectIntentions().get(args[0]!);
    } catch (err) {
      throw new Error(`Error reading the intention: ${errorText(err)}`);
    }
    if (!ixn) throw new Error(`Intention not found with ID ${JSON.stringify(args[0])}`);
    return ixn;
  }
  if (args.length === 2) {
    let ixn: Intention | null;
    try {
      [ixn] = await client.connectIntentions().getExact(args[0]!, args[1]!);
    } catch (err) {
      throw new Error(`Error reading the intention: ${errorText(err)}`);
    }
    if (!ixn) throw new Error(`Intention not found with source ${JSON.stringify(args[0])} and destination ${JSON.stringify(args[1])}`);
    return ixn;
  }
  throw new Error("command requires exactly 1 or 2 arguments");
}

export const intentionGetCommand = defineCommand({
  synopsis: "Show information about an intention.",
  help: `
Usage: consulate intention get [options] SRC DST
Usage: consulate intention get [options] ID

  Read and show the details about an intention. The intention can be looked
  up via an exact source/destination match or via the unique intention ID.

      $ consulate intention get web db
`,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values, args }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let ixn: Intention;
    try {
      ixn = await fromArgs(client, args);
    } catch (err) {
      ui.error(errorText(err));
      return 1;
    }
    const rows = [`Source:\x1f${intentionPart(ixn.SourceNS, ixn.SourceName)}`, `Destination:\x1f${intentionPart(ixn.DestinationNS, ixn.DestinationName)}`];
    if (ixn.Action) rows.push(`Action:\x1f${ixn.Action}`);
    if (ixn.ID) rows.push(`ID:\x1f${ixn.ID}`);
    if (ixn.Description) rows.push(`Description:\x1f${ixn.Description}`);
    for (const k of Object.keys(ixn.Meta ?? {}).sort()) rows.push(`Meta[${k}]:\x1f${ixn.Meta![k]}`);
    rows.push(`Created At:\x1f${rfc850(ixn.CreatedAt)}`);
    ui.output(columnize(rows));
    if (ixn.Permissions && ixn.Permissions.length > 0) ui.output(`Permissions:\n${JSON.stringify(ixn.Permissions, null, 2)}`);
    return 0;
  },
});

export const intentionListCommand = defineCommand({
  synopsis: "List connect intentions",
  help: `
Usage: consulate intention list

  List all consul connect intentions.
`,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let ixns: Intention[];
    try {
      [ixns] = await client.connectIntentions().list();
    } catch (err) {
      ui.error(`Failed to retrieve the intentions list: ${errorText(err)}`);
      return 1;
    }
    if (ixns.length === 0) {
      ui.error("There are no intentions.");
      return 2;
    }
    const rows = ["ID\x1fSource\x1fAction\x1fDestination\x1fPrecedence"];
    for (const i of ixns) rows.push(`${i.ID ?? ""}\x1f${i.SourceName}\x1f${i.Action ?? ""}\x1f${i.DestinationName}\x1f${i.Precedence ?? 0}`);
    ui.output(columnize(rows));
    return 0;
  },
});

export const intentionMatchCommand = defineCommand({
  synopsis: "Show intentions that match a source or destination.",
  help: `
Usage: consulate intention match [options] SRC|DST

  Show the list of intentions that would be enforced for a given source
  or destination. The intentions are listed in the order they would be
  evaluated.

      $ consulate intention match db
      $ consulate intention match -source web
`,
  flags: {
    ...clientFlags,
    ...serverFlags,
    source: boolFlag(false, "Match intentions with the given source."),
    destination: boolFlag(false, "Match intentions with the given destination."),
  },
  async run({ values, args }, ui) {
    if (args.length !== 1) {
      ui.error("Error: command requires exactly one argument: src or dst");
      return 1;
    }
    if (values.source && values.destination) {
      ui.error("Error: only one of -source or -destination may be specified");
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let matches: Record<string, Intention[]>;
    try {
      [matches] = await client.connectIntentions().match(values.source ? "source" : "destination", [args[0]!]);
    } catch (err) {
      ui.error(`Error matching the connection: ${errorText(err)}`);
      return 1;
    }
    for (const ixn of matches[args[0]!] ?? []) ui.output(intentionLine(ixn));
    return 0;
  },
});

export const intentionCheckCommand = defineCommand({
  synopsis: "Check whether a connection between two services is allowed.",
  help: `
Usage: consulate intention check [options] SRC DST

  Check whether a connection between SRC and DST would be allowed by
  Connect given the current Consul configuration.

      $ consulate intention check web db
`,
  flags: { ...clientFlags, ...serverFlags, "source-type": stringFlag("consul", "The source type. The only supported value is \"consul\".") },
  async run({ values, args }, ui) {
    if (args.length !== 2) {
      ui.error("Error: command requires exactly two arguments: src and dst");
      return 2;
    }
    if (values["source-type"] !== "consul") {
      ui.error(`Error: unsupported -source-type ${JSON.stringify(values["source-type"])}; must be "consul"`);
      return 2;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 2;
    let allowed: boolean;
    try {
      [allowed] = await client.connectIntentions().check(args[0]!, args[1]!);
    } catch (err) {
      ui.error(`Error checking the connection: ${errorText(err)}`);
      return 2;
    }
    ui.output(allowed ? "Allowed" : "Denied");
    return allowed ? 0 : 1;
  },
});

export const intentionDeleteCommand = defineCommand({
  synopsis: "Delete an intention.",
  help: `
Usage: consulate intention delete [options] SRC DST
Usage: consulate intention delete [options] ID

  Delete an intention. This cannot be reversed. The intention can be looked
  up via an exact source/destination match or via the unique intention ID.

      $ consulate intention delete web db
`,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values, args }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      if (args.length === 1) await client.connectIntentions().delete(args[0]!);
      else if (args.length === 2) await client.connectIntentions().deleteExact(args[0]!, args[1]!);
      else {
        ui.error("command requires exactly 1 or 2 arguments");
        return 1;
      }
    } catch (err) {
      ui.error(`Error deleting the intention: ${errorText(err)}`);
      return 1;
    }
    ui.output("Intention deleted.");
    return 0;
  },
});
