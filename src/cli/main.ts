/**
 * Entry point of the `consulate` command. Everything it does goes through
 * `runCli`; this file only connects it to the process.
 */
import { args, exit } from "../runtime/process.ts";
import { processIo } from "./io_process.ts";
import { runCli } from "./run.ts";
import { exitWithLauncher, proxyInChild } from "../runtime/relaunch.ts";

exitWithLauncher();

try {
  // `connect proxy` started by Node may run in a child on another runtime, decided before the proxy's code loads (src/runtime/relaunch.ts).
  exit((await proxyInChild(args())) ?? (await runCli(args(), processIo)));
} catch (err) {
  processIo.stderr(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  exit(1);
}
