/** `consulate intention create [-allow|-deny] [-replace] [-meta k=v] SRC DST` or `-file FILE...`. */
import { type Client, type Intention, intentionPart } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { loadDataSource } from "../data_source.ts";
import { boolFlag, mapFlag } from "../flags.ts";
import { clientFlags, connectAgent, serverFlags } from "../http_flags.ts";
import type { Ui } from "../io.ts";
import { intentionLine, parseTarget } from "./format.ts";

const help = `
Usage: consulate intention create [options] SRC DST
Usage: consulate intention create [options] -file FILE...

  Create one or more intentions. The data can be specified as a single
  source and destination pair or via a set of files when the "-file" flag
  is specified.

      $ consulate intention create web db

  To consume data from a set of files:

      $ consulate intention create -file one.json two.json

  When specifying the "-file" flag, "-" may be used once to read from stdin:

      $ echo "{ ... }" | consulate intention create -file -

  An "allow" intention is created by default (allowlist). To create a
  "deny" intention, the "-deny" flag should be specified.

  If a conflicting intention is found, creation will fail. To replace any
  conflicting intentions, specify the "-replace" flag. This will replace any
  conflicting intentions with the intention specified in this command.
  Metadata and any other fields of the previous intention will not be
  preserved.

  Additional flags and more advanced use cases are detailed below.
`;

const flags = {
  ...clientFlags,
  ...serverFlags,
  allow: boolFlag(false, "Create an intention that allows when matched."),
  deny: boolFlag(false, "Create an intention that denies when matched."),
  file: boolFlag(false, "Read intention data from one or more files."),
  replace: boolFlag(false, "Replace matching intentions."),
  meta: mapFlag("Metadata to set on the intention, formatted as key=value. This flag may be specified multiple times to set multiple meta fields."),
};

async function fromFiles(paths: string[], ui: Ui): Promise<Intention[]> {
  const out: Intention[] = [];
  for (const path of paths) {
    const bytes = await loadDataSource(path === "-" ? "-" : `@${path}`, ui.io);
    out.push(JSON.parse(new TextDecoder().decode(bytes)) as Intention);
  }
  return out;
}

async function createOne(client: Client, ixn: Intention, replace: boolean, ui: Ui): Promise<boolean> {
  const connect = client.connectIntentions();
  const src = intentionPart(ixn.SourceNS, ixn.SourceName);
  const dst = intentionPart(ixn.DestinationNS, ixn.DestinationName);
  if (replace) {
    let old: Intention | null;
    try {
      [old] = await connect.getExact(src, dst);
    } catch (err) {
      ui.error(`Error looking up intention for replacement with source ${JSON.stringify(src)} and destination ${JSON.stringify(dst)}: ${errorText(err)}`);
      return false;
    }
    if (old) {
      try {
        if (old.ID) await connect.update({ ...ixn, ID: old.ID });
        // An intention written by name (no legacy ID) is replaced by name.
        else await connect.upsert(ixn);
      } catch (err) {
        ui.error(`Error replacing intention with source ${JSON.stringify(src)} and destination ${JSON.stringify(dst)}: ${errorText(err)}`);
        return false;
      }
      return true;
    }
  }
  try {
    await connect.create(ixn);
  } catch (err) {
    ui.error(`Error creating intention ${JSON.stringify(intentionLine(ixn))}: ${errorText(err)}`);
    return false;
  }
  ui.output(`Created: ${intentionLine(ixn)}`);
  return true;
}

export const intentionCreateCommand = defineCommand({
  synopsis: "Create intentions for service connections.",
  help,
  flags,
  async run({ values, args }, ui) {
    let allow = values.allow;
    if (!values.allow && !values.deny) allow = true;
    if (values.allow && values.deny) {
      ui.error("Only one of -allow or -deny may be specified.");
      return 1;
    }
    let ixns: Intention[];
    try {
      if (values.file) {
        ixns = await fromFiles(args, ui);
      } else {
        if (args.length !== 2) throw new Error("Must specify two arguments: source and destination");
        let src, dst;
        try {
          src = parseTarget(args[0]!);
        } catch (err) {
          throw new Error(`Invalid intention source: ${errorText(err)}`);
        }
        try {
          dst = parseTarget(args[1]!);
        } catch (err) {
          throw new Error(`Invalid intention destination: ${errorText(err)}`);
        }
        ixns = [
          {
            SourceNS: src.namespace,
            SourceName: src.name,
            DestinationNS: dst.namespace,
            DestinationName: dst.name,
            SourceType: "consul",
            Action: allow ? "allow" : "deny",
            Meta: values.meta,
          },
        ];
      }
    } catch (err) {
      ui.error(`Error: ${errorText(err)}`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    for (const ixn of ixns) if (!(await createOne(client, ixn, values.replace, ui))) return 1;
    return 0;
  },
});
