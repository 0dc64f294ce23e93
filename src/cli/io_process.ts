/** The real `CliIo`: the process's streams, files and environment. */
import { readFile } from "node:fs/promises";
import * as proc from "../runtime/process.ts";
import type { CliIo } from "./io.ts";

export const processIo: CliIo = {
  stdout: (text) => proc.writeStdout(text),
  stderr: (text) => proc.writeStderr(text),
  readStdin: () => proc.readStdin(),
  readFile: async (path) => new Uint8Array(await readFile(path)),
  env: (name) => proc.env(name),
  allEnv: () => proc.allEnv(),
  onSignal: (signal, handler) => proc.onSignal(signal, handler),
};
