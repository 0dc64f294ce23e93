/** The top-level command table and usage text. */
import type { Command } from "./command.ts";
import type { CliIo } from "./io.ts";
import { catalogCommand } from "./catalog/mod.ts";
import { configCommand } from "./config/mod.ts";
import { intentionCommand } from "./intention/mod.ts";
import { connectCommand } from "./connect/mod.ts";
import { eventCommand } from "./event.ts";
import { forceLeaveCommand } from "./force_leave.ts";
import { joinCommand } from "./join.ts";
import { keygenCommand } from "./keygen.ts";
import { keyringCommand } from "./keyring.ts";
import { kvCommand } from "./kv/mod.ts";
import { leaveCommand } from "./leave.ts";
import { lockCommand } from "./lock.ts";
import { maintCommand } from "./maint.ts";
import { membersCommand } from "./members.ts";
import { reloadCommand } from "./reload.ts";
import { rttCommand } from "./rtt.ts";
import { operatorCommand } from "./operator/mod.ts";
import { servicesCommand } from "./services/mod.ts";
import { snapshotCommand } from "./snapshot/mod.ts";
import { tlsCommand } from "./tls/mod.ts";
import { versionCommand } from "./version.ts";
import { watchCommand } from "./watch/mod.ts";
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
  config: configCommand,
  connect: connectCommand,
  event: eventCommand,
  "force-leave": forceLeaveCommand,
  intention: intentionCommand,
  join: joinCommand,
  keygen: keygenCommand,
  keyring: keyringCommand,
  kv: kvCommand,
  leave: leaveCommand,
  lock: lockCommand,
  maint: maintCommand,
  members: membersCommand,
  operator: operatorCommand,
  reload: reloadCommand,
  rtt: rttCommand,
  services: servicesCommand,
  snapshot: snapshotCommand,
  tls: tlsCommand,
  version: versionCommand,
  watch: watchCommand,
};

export function topUsage(): string {
  const rows = Object.keys(commands)
    .sort()
    .map((name) => `${name}\x1f${commands[name]?.synopsis ?? ""}`);
  return `Usage: consulate [--version] [--help] <command> [<args>]\n\nAvailable commands are:\n${columnize(rows, "\x1f", "    ").replace(/^/gm, "    ")}\n`;
}
