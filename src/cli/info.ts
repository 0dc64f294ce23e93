/** `consulate info`: the agent's `Stats` from /v1/agent/self, section by section (Consul's command/info). */
import { defineCommand, errorText } from "./command.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";

const help = `
Usage: consulate info [options]

  Provides debugging information for operators.
`;

const isSection = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

export const infoCommand = defineCommand({
  synopsis: "Provides debugging information for operators.",
  help,
  flags: { ...clientFlags },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    let self: Record<string, unknown>;
    try {
      self = (await client.agent().self()) as Record<string, unknown>;
    } catch (err) {
      ui.error(`Error querying agent: ${errorText(err)}`);
      return 1;
    }
    const stats = self.Stats;
    if (!isSection(stats)) {
      ui.error(`Agent response did not contain 'Stats' key: ${JSON.stringify(self)}`);
      return 1;
    }
    for (const key of Object.keys(stats).sort()) {
      ui.output(`${key}:`);
      const sub = stats[key];
      if (!isSection(sub)) {
        ui.error(`Got invalid subkey in stats: ${JSON.stringify(sub)}`);
        return 1;
      }
      for (const k of Object.keys(sub).sort()) ui.output(`\t${k} = ${String(sub[k])}`);
    }
    return 0;
  },
});
