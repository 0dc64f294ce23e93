/** An in-memory CliIo: captures output, serves stdin, files and environment from maps. */
import type { CliIo } from "../../src/cli/io.ts";

export interface MemoryIo extends CliIo {
  readonly out: string[];
  readonly err: string[];
  stdoutText(): string;
  stderrText(): string;
}

export function memoryIo(options: { env?: Record<string, string>; stdin?: string; files?: Record<string, string> } = {}): MemoryIo {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdoutText: () => out.join(""),
    stderrText: () => err.join(""),
    stdout: (t) => void out.push(t),
    stderr: (t) => void err.push(t),
    readStdin: async () => new TextEncoder().encode(options.stdin ?? ""),
    readFile: async (path) => {
      const f = options.files?.[path];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return new TextEncoder().encode(f);
    },
    env: (name) => options.env?.[name],
    allEnv: () => ({ ...(options.env ?? {}) }),
    onSignal: () => () => {},
  };
}
