/** `consulate monitor [-log-level=info] [-log-json]`: streams the agent's logs until interrupted (Consul's command/monitor). */
import { defineCommand, errorText } from "./command.ts";
import { boolFlag, stringFlag } from "./flags.ts";
import { connectAgent, clientFlags } from "./http_flags.ts";
import type { Ui } from "./io.ts";

const help = `
Usage: consulate monitor [options]

  Shows recent log messages of a Consul agent, and attaches to the agent,
  outputting log messages as they occur in real time. The monitor lets you
  listen for log levels that may be filtered out of the Consul agent. For
  example your agent may only be logging at INFO level, but with the monitor
  you can see the DEBUG level logs.
`;

export const monitorCommand = defineCommand({
  synopsis: "Stream logs from a Consul agent",
  help,
  flags: {
    ...clientFlags,
    "log-level": stringFlag("INFO", "Log level of the agent."),
    "log-json": boolFlag(false, "Output logs in JSON format."),
  },
  async run({ values }, ui) {
    const client = await connectAgent(values, ui);
    if (!client) return 1;
    const quit = new AbortController();
    const offs = [ui.io.onSignal("SIGINT", () => quit.abort()), ui.io.onSignal("SIGTERM", () => quit.abort())];
    try {
      let lines: AsyncGenerator<string>;
      try {
        lines = await client.agent().monitor({ logLevel: values["log-level"], logJson: values["log-json"], signal: quit.signal });
      } catch (err) {
        if (quit.signal.aborted) return 0;
        ui.error(`Error starting monitor: ${errorText(err)}`);
        return 1;
      }
      try {
        for await (const line of lines) ui.output(line);
      } catch {
        // A broken stream is the remote side ending it.
      }
      return quit.signal.aborted ? 0 : remoteEnded(ui);
    } finally {
      for (const off of offs) off();
    }
  },
});

function remoteEnded(ui: Ui): number {
  ui.output("");
  ui.output("Remote side ended the monitor! This usually means that the\nremote side has exited or crashed.");
  return 1;
}
