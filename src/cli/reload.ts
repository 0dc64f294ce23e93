/** `consulate reload`: make the agent re-read its configuration files. */
import { defineCommand, errorText } from "./command.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";

const help = `
Usage: consulate reload

  Causes the agent to reload configurations. This can be used instead
  of sending the SIGHUP signal to the agent.
`;

export const reloadCommand = defineCommand({
  synopsis: "Triggers the agent to reload configuration files",
  help,
  flags: { ...clientFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    try {
      await client.agent().reload();
    } catch (err) {
      ui.error(`Error reloading: ${errorText(err)}`);
      return 1;
    }
    ui.output("Configuration reload triggered");
    return 0;
  },
});
