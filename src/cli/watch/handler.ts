/**
 * Runs a watch handler (Consul's agent.ExecScript / ExecSubprocess): through
 * `$SHELL -c` (default /bin/sh) or directly, with the result as JSON on
 * standard input, CONSUL_INDEX in the environment and the parent's output
 * streams.
 */
import { spawn } from "node:child_process";

export interface HandlerRun {
  readonly args: readonly string[];
  readonly shell: boolean;
  readonly env: Record<string, string | undefined>;
  readonly stdin: string;
}

/** Resolves null when the handler exits 0, else Go's reason ("exit status 2"); rejects when it cannot start. */
export function runHandler(run: HandlerRun): Promise<string | null> {
  const [file, argv] = run.shell ? [run.env.SHELL || "/bin/sh", ["-c", run.args.join(" ")]] : [run.args[0] ?? "", run.args.slice(1)];
  return new Promise((resolve, reject) => {
    let started = false;
    const child = spawn(file, argv, { env: run.env, stdio: ["pipe", "inherit", "inherit"] });
    child.once("spawn", () => {
      started = true;
    });
    child.once("error", (err) => (started ? resolve(err.message) : reject(err)));
    child.once("exit", (code, signal) => resolve(signal ? `signal: ${signal}` : code === 0 ? null : `exit status ${code ?? -1}`));
    // A handler that does not read its input must not fail the run.
    child.stdin?.on("error", () => {});
    child.stdin?.end(run.stdin);
  });
}
