/** `consulate kv export`: a prefix as the JSON array `kv import` reads. */
import { encodeJson } from "../../api/mod.ts";
import { defineCommand, errorText } from "../command.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";
import { toEntry } from "./impexp.ts";

const help = `
Usage: consulate kv export [KEY_OR_PREFIX]

  Retrieves key-value pairs for the given prefix from Consul's key-value store,
  and writes a JSON representation to stdout. This can be used with the command
  "consulate kv import" to move entire trees between clusters.

      $ consulate kv export vault
`;

export const kvExportCommand = defineCommand({
  synopsis: "Exports a tree from the KV store as JSON",
  help,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values, args }, ui) {
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 1, got ${args.length})`);
      return 1;
    }
    let key = args[0] ?? "";
    if (key.startsWith("/")) key = key.slice(1);
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let pairs;
    try {
      [pairs] = await client.kv().list(key, { stale: values.stale });
    } catch (err) {
      ui.error(`Error querying Consul agent: ${errorText(err)}`);
      return 1;
    }
    // Go's json.MarshalIndent with a tab, HTML-safe escaping and exact uint64 flags.
    ui.info(encodeJson(pairs.map(toEntry), { indent: "\t", escapeHtml: true }));
    return 0;
  },
});
