/** `consulate catalog datacenters` */
import { defineCommand, errorText } from "../command.ts";
import { connectAgent, clientFlags, serverFlags } from "../http_flags.ts";

const help = `
Usage: consulate catalog datacenters [options]

  Retrieves the list of all known datacenters. This datacenters are sorted in
  ascending order based on the estimated median round trip time from the servers
  in this datacenter to the servers in the other datacenters.

  To retrieve the list of datacenters:

      $ consulate catalog datacenters
`;

export const catalogDatacentersCommand = defineCommand({
  synopsis: "Lists all known datacenters",
  help,
  flags: { ...clientFlags, ...serverFlags },
  async run({ values, args }, ui) {
    if (args.length > 0) {
      ui.error(`Too many arguments (expected 0, got ${args.length})`);
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      for (const dc of await client.catalog().datacenters()) ui.info(dc);
    } catch (err) {
      // Consul prints this and still exits 0; a failed query should not look like success.
      ui.error(`Error listing datacenters: ${errorText(err)}`);
      return 1;
    }
    return 0;
  },
});
