/** The top-level command table and usage text. */
import type { Command } from "./command.ts";
import type { CliIo } from "./io.ts";
import { catalogCommand } from "./catalog/mod.ts";
import { kvCommand } from "./kv/mod.ts";
import { lockCommand } from "./lock.ts";
import { membersCommand } from "./members.ts";
import { versionCommand } from "./version.ts";
import { columnize } from "./format/columnize.ts";

/**
 * `agent` is built elsewhere (`./agent.ts`) and loaded only when asked for,
 * so every other command works, and starts fast, without it.
 */
const agentCommand: Command = {
  synopsis: "Runs a Consulate agent",
  help: () => "Usage: consulate agent [options]\n\n  Starts the Consulate agent and runs until an interrupt is received.\n",
  async run(args: string[], _io: CliIo): Promise<number> {
    const mod: { agentCommand(args: string[]): Promise<number> } = await import("./agent.ts");
    return mod.agentCommand(args);
  },
};

export const commands: Readonly<Record<string, Command>> = {
  agent: agentCommand,
  catalog: catalogCommand,
  kv: kvCommand,
  lock: lockCommand,
  members: membersCommand,
  version: versionCommand,
};

export function topUsage(): string {
  const rows = Object.keys(commands)
    .sort()
    .map((name) => `${name}\x1f${commands[name]?.synopsis ?? ""}`);
  return `Usage: consulate [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n${columnize(rows, "\x1f", "    ").replace(/^/gm, "    ")}\n`;
}
