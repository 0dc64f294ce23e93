/** `consulate force-leave`: marks a failed member left (Consul's command/forceleave). */
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, usage } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";

const help = `
Usage: consulate force-leave [options] name

  Forces a member of a Consul cluster to enter the "left" state. Note
  that if the member is still actually alive, it will eventually rejoin
  the cluster. This command is most useful for cleaning out "failed" nodes
  that are never coming back. If you do not force leave a failed node,
  Consul will attempt to reconnect to those failed nodes for some period of
  time before eventually reaping them.
`;

const flags = {
  ...clientFlags,
  prune: boolFlag(false, "Remove agent forcibly from list of members"),
  wan: boolFlag(false, "Exclusively leave the agent from the WAN serf pool."),
};

export const forceLeaveCommand = defineCommand({
  synopsis: "Forces a member of the cluster to enter the \"left\" state",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length !== 1) {
      ui.error("A single node name must be specified to force leave.");
      ui.error("");
      ui.error(usage(help, flags));
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      await client.agent().forceLeaveOpts(args[0]!, { prune: values.prune, wan: values.wan });
    } catch (err) {
      ui.error(`Error force leaving: ${errorText(err)}`);
      return 1;
    }
    return 0;
  },
});
