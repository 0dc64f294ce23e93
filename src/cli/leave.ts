/** `consulate leave`: ask the agent to leave gracefully and shut down. */
import { defineCommand, errorText } from "./command.ts";
import { usage } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";

const help = `
Usage: consulate leave [options]

  Causes the agent to gracefully leave the Consul cluster and shutdown.
`;

const flags = { ...clientFlags };

export const leaveCommand = defineCommand({
  synopsis: "Gracefully leaves the Consul cluster and shuts down",
  help,
  flags,
  async run({ values, args }, ui) {
    if (args.length > 0) {
      ui.error(`Error found unexpected args: [${args.join(" ")}]`);
      ui.output(usage(help, flags));
      return 1;
    }
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      await client.agent().leave();
    } catch (err) {
      ui.error(`Error leaving: ${errorText(err)}`);
      return 1;
    }
    ui.output("Graceful leave complete");
    return 0;
  },
});
