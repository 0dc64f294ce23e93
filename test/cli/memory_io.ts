/** An in-memory CliIo: captures output, serves stdin, files and environment from maps. */
import type { CliIo } from "../../src/cli/io.ts";

export interface MemoryIo extends CliIo {
  /** Files the command wrote (and the ones it was given), by path. */
  readonly written: Map<string, Uint8Array>;
  readonly out: string[];
  readonly err: string[];
  stdoutText(): string;
  stderrText(): string;
}

export function memoryIo(options: { env?: Record<string, string>; stdin?: string; files?: Record<string, string> } = {}): MemoryIo {
  const out: string[] = [];
  const err: string[] = [];
  const written = new Map<string, Uint8Array>();
  const enoent = (path: string) => Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
  return {
    written,
    out,
    err,
    stdoutText: () => out.join(""),
    stderrText: () => err.join(""),
    stdout: (t) => void out.push(typeof t === "string" ? t : new TextDecoder().decode(t)),
    stderr: (t) => void err.push(t),
    readStdin: async () => new TextEncoder().encode(options.stdin ?? ""),
    readFile: async (path) => {
      const w = written.get(path);
      if (w !== undefined) return w;
      const f = options.files?.[path];
      if (f === undefined) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
      return new TextEncoder().encode(f);
    },
    writeFile: async (path, data) => void written.set(path, data.slice()),
    rename: async (from, to) => {
      const data = written.get(from);
      if (data === undefined) throw enoent(from);
      written.delete(from);
      written.set(to, data);
    },
    removeFile: async (path) => void written.delete(path),
    env: (name) => options.env?.[name],
    allEnv: () => ({ ...(options.env ?? {}) }),
    onSignal: () => () => {},
  };
}
