/** Dispatches `consulate <command> [args]`; returns the exit code. */
import { commands, topUsage } from "./commands.ts";
import type { CliIo } from "./io.ts";
import { prettyVersion } from "./version.ts";

export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  const [first, ...rest] = args;
  if (first === undefined) {
    io.stderr(topUsage());
    return 1;
  }
  if (first === "-h" || first === "-help" || first === "--help") {
    io.stdout(topUsage());
    return 0;
  }
  if (first === "-v" || first === "-version" || first === "--version") {
    io.stdout(`${prettyVersion()}\n`);
    return 0;
  }
  const command = Object.hasOwn(commands, first) ? commands[first] : undefined;
  if (command === undefined) {
    io.stderr(`Unknown command: ${first}\n\n${topUsage()}`);
    return 1;
  }
  return command.run(rest, io);
}
