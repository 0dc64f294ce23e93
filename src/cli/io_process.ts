/** The real `CliIo`: the process's streams, files and environment. */
import { open, readFile, rename, rm } from "node:fs/promises";
import * as proc from "../runtime/process.ts";
import type { CliIo } from "./io.ts";

export const processIo: CliIo = {
  stdout: (text) => proc.writeStdout(text),
  stderr: (text) => proc.writeStderr(text),
  readStdin: () => proc.readStdin(),
  readFile: async (path) => new Uint8Array(await readFile(path)),
  async writeFile(path, data) {
    const handle = await open(path, "w", 0o600);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  rename: (from, to) => rename(from, to),
  removeFile: (path) => rm(path, { force: true }),
  env: (name) => proc.env(name),
  allEnv: () => proc.allEnv(),
  onSignal: (signal, handler) => proc.onSignal(signal, handler),
};
