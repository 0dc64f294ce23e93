/**
 * Consul's `helpers.LoadDataSource`: an argument is literal data, `@path` (a
 * file) or `-` (standard input). Anything else starting with "-" is literal.
 */
import type { CliIo } from "./io.ts";

export class DataSourceError extends Error {
  override readonly name = "DataSourceError";
}

export async function loadDataSource(data: string, io: CliIo): Promise<Uint8Array> {
  if (data === "") return new Uint8Array(0);
  if (data.startsWith("@")) {
    try {
      return await io.readFile(data.slice(1));
    } catch (err) {
      throw new DataSourceError(`Failed to read file: ${describeFsError(err, data.slice(1))}`, { cause: err });
    }
  }
  if (data === "-") {
    try {
      return await io.readStdin();
    } catch (err) {
      throw new DataSourceError(`Failed to read stdin: ${(err as Error).message}`, { cause: err });
    }
  }
  return new TextEncoder().encode(data);
}

/** Go's *PathError text, e.g. "open x.json: no such file or directory". */
export function describeFsError(err: unknown, path: string): string {
  const code = (err as { code?: string }).code;
  const reason: Record<string, string> = {
    ENOENT: "no such file or directory",
    EACCES: "permission denied",
    EISDIR: "is a directory",
  };
  return `open ${path}: ${(code && reason[code]) ?? (err as Error).message}`;
}
