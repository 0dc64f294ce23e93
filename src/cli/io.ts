/**
 * What a command may touch of the outside world. `main.ts` wires it to the
 * process (through `src/runtime/`); tests pass an in-memory one.
 */
import type { Signal } from "../runtime/process.ts";

export interface CliIo {
  /** Writes text, or bytes exactly as given, to standard output. */
  stdout(text: string | Uint8Array): void;
  /** Writes text to standard error as is. */
  stderr(text: string): void;
  readStdin(): Promise<Uint8Array>;
  readFile(path: string): Promise<Uint8Array>;
  /** Writes a whole file (mode 0600 when created) and syncs it to disk. */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Renames a file, replacing the target. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it is already gone. */
  removeFile(path: string): Promise<void>;
  env(name: string): string | undefined;
  /** Environment for child processes. */
  allEnv(): Record<string, string | undefined>;
  onSignal(signal: Signal, handler: () => void): () => void;
}

/** Consul's `cli.Ui`: Info/Output to stdout, Error to stderr, each as one line. */
export class Ui {
  readonly io: CliIo;

  constructor(io: CliIo) {
    this.io = io;
  }
  output(line: string): void {
    this.io.stdout(`${line}\n`);
  }
  info(line: string): void {
    this.io.stdout(`${line}\n`);
  }
  /** A line of raw bytes (Go's `UI.Info(string(b))`: no UTF-8 repair). */
  infoBytes(line: Uint8Array): void {
    const out = new Uint8Array(line.length + 1);
    out.set(line);
    out[line.length] = 0x0a;
    this.io.stdout(out);
  }
  error(line: string): void {
    this.io.stderr(`${line}\n`);
  }
}
