/** A command that only groups subcommands (`kv`, `catalog`), as mitchellh/cli nests them. */
import type { Command } from "./command.ts";
import type { CliIo } from "./io.ts";
import { columnize } from "./format/columnize.ts";

export function groupCommand(name: string, synopsis: string, intro: string, children: Readonly<Record<string, Command>>): Command {
  const help = (): string => {
    const rows = Object.keys(children)
      .sort()
      .map((n) => `${n}\x1f${children[n]?.synopsis ?? ""}`);
    return `Usage: consulate ${name} <subcommand> [options] [args]\n\n${intro.replace(/^\n+|\s+$/g, "")}\n\nSubcommands:\n${columnize(rows, "\x1f", "    ").replace(/^/gm, "    ")}\n`;
  };
  return {
    synopsis,
    help,
    async run(args: string[], io: CliIo): Promise<number> {
      const sub = args[0];
      if (sub === "-h" || sub === "-help" || sub === "--help") {
        io.stdout(help());
        return 0;
      }
      const child = sub === undefined ? undefined : children[sub];
      if (child === undefined || !Object.hasOwn(children, sub ?? "")) {
        // Consul answers a bare or unknown subcommand with the group's help and exit code 1.
        io.stderr(help());
        return 1;
      }
      return child.run(args.slice(1), io);
    },
  };
}
