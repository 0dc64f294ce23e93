/** `consulate join`: asks the agent to join other agents' gossip pool (Consul's command/join). */
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, usage } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";

const help = `
Usage: consulate join [options] address ...

  Tells a running Consul agent (with "consul agent") to join the cluster
  by specifying at least one existing member.
`;

const flags = {
  ...clientFlags,
  wan: boolFlag(false, "Joins a server to another server in the WAN pool."),
};

export const joinCommand = defineCommand({
  synopsis: "Tell Consul agent to join cluster",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length === 0) {
      ui.error("At least one address to join must be specified.");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let joins = 0;
    for (const addr of args) {
      try {
        await client.agent().join(addr, values.wan);
        joins++;
      } catch (err) {
        ui.error(`Error joining address '${addr}': ${errorText(err)}`);
      }
    }
    if (joins === 0) {
      ui.error("Failed to join any nodes.");
      return 1;
    }
    ui.output(`Successfully joined cluster by contacting ${joins} nodes.`);
    return 0;
  },
});
