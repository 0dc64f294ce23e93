/**
 * Runs the child of `consulate lock` (Consul's `agent/exec`): through a shell
 * (`$SHELL -c`, else `/bin/sh -c`) or directly, with the parent's output
 * streams, and with a way to stop it gently then firmly.
 */
import { spawn, type ChildProcess } from "node:child_process";

export interface ChildOptions {
  readonly args: readonly string[];
  readonly shell: boolean;
  readonly passStdin: boolean;
  readonly env: Record<string, string | undefined>;
}

export interface RunningChild {
  readonly pid: number | undefined;
  /** Resolves when the child ends: null on exit code 0, else a Go-style reason ("exit status 3"). */
  readonly exited: Promise<string | null>;
  signal(sig: NodeJS.Signals): void;
}

/** Raised when the child cannot be started at all. */
export class ChildStartError extends Error {
  override readonly name = "ChildStartError";
}

export function startChild(options: ChildOptions): RunningChild {
  const [file, argv] = options.shell
    ? [options.env.SHELL || "/bin/sh", ["-c", options.args.join(" ")]]
    : [options.args[0] ?? "", options.args.slice(1)];
  if (file === "") throw new ChildStartError("missing command");
  let child: ChildProcess;
  try {
    child = spawn(file, argv, {
      env: options.env,
      stdio: [options.passStdin ? "inherit" : "ignore", "inherit", "inherit"],
    });
  } catch (err) {
    throw new ChildStartError((err as Error).message, { cause: err });
  }
  const exited = new Promise<string | null>((resolve) => {
    child.once("error", (err) => resolve(err.message));
    child.once("exit", (code, signal) => {
      if (signal) resolve(`signal: ${signalName(signal)}`);
      else resolve(code === 0 ? null : `exit status ${code ?? -1}`);
    });
  });
  return {
    pid: child.pid,
    exited,
    signal(sig) {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    },
  };
}

/** Go's `syscall.Signal.String()` for the signals a lock child usually dies of. */
function signalName(sig: NodeJS.Signals): string {
  const names: Partial<Record<NodeJS.Signals, string>> = {
    SIGTERM: "terminated",
    SIGKILL: "killed",
    SIGINT: "interrupt",
    SIGHUP: "hangup",
  };
  return names[sig] ?? sig;
}
