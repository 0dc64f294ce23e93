/**
 * Entry point of the `consulate` command. Everything it does goes through
 * `runCli`; this file only connects it to the process.
 */
import { args, exit } from "../runtime/process.ts";
import { processIo } from "./io_process.ts";
import { runCli } from "./run.ts";
import { exitWithLauncher } from "../runtime/relaunch.ts";

exitWithLauncher();

try {
  exit(await runCli(args(), processIo));
} catch (err) {
  processIo.stderr(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exit(1);
}
