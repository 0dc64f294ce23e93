/** The shape every subcommand has, and the flag handling they share. */
import { FlagError, HelpRequested, parseFlags, usage, type FlagSpec, type Parsed } from "./flags.ts";
import type { CliIo } from "./io.ts";
import { Ui } from "./io.ts";
import { ApiConnectionError } from "../api/mod.ts";

/** Said when no agent answers: how the CLI picks the agent it talks to. */
export function noAgentHint(address: string): string {
  return `Is an agent running at ${address}? Start one with "consulate agent -dev", or point the CLI at yours with -http-addr or CONSUL_HTTP_ADDR.`;
}

export interface Command {
  /** One line for the command list. */
  readonly synopsis: string;
  /** Full help, including flags. */
  help(): string;
  /** Runs the command; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

/**
 * Parses flags; on bad syntax prints Go's message and the usage to stderr and
 * returns exit code 1, on `-h` prints the help to stdout and returns 0.
 */
export function parseCommandFlags<S extends FlagSpec>(spec: S, args: readonly string[], ui: Ui, help: string): Parsed<S> | number {
  try {
    return parseFlags(spec, args);
  } catch (err) {
    if (err instanceof HelpRequested) {
      ui.output(usage(help, spec));
      return 0;
    }
    if (err instanceof FlagError) {
      ui.error(err.message);
      ui.error(usage(help, spec));
      return 1;
    }
    throw err;
  }
}

/** A command made of one spec and one body; most commands are this. */
export function defineCommand<S extends FlagSpec>(def: {
  synopsis: string;
  help: string;
  flags: S;
  run(parsed: Parsed<S>, ui: Ui): Promise<number>;
}): Command {
  return {
    synopsis: def.synopsis,
    help: () => usage(def.help, def.flags),
    async run(args, io) {
      const ui = new Ui(io);
      const parsed = parseCommandFlags(def.flags, args, ui, def.help);
      if (typeof parsed === "number") return parsed;
      return def.run(parsed, ui);
    },
  };
}

/**
 * Message of an error as Consul prints it after "Error ...: "; when no agent
 * answered, a second line says how the CLI picks its agent.
 */
export function errorText(err: unknown): string {
  if (err instanceof ApiConnectionError && /connection refused|no such host/.test(err.message)) {
    let where = err.url;
    try {
      where = new URL(err.url).host;
    } catch {
      // keep the URL as given
    }
    return `${err.message}\n${noAgentHint(where)}`;
  }
  return err instanceof Error ? err.message : String(err);
}
