/**
 * Script checks (Consul's CheckMonitor): run `Args` directly, exit 0 is
 * passing, 1 warning, anything else critical; the output is the tail of
 * stdout and stderr together. On timeout the whole process group is killed.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { killProcessGroup } from "../../runtime/process.ts";
import type { Clock } from "../../server/clock.ts";
import { formatGoDuration } from "../../structs/duration.ts";
import { TailBuffer } from "./output.ts";
import type { ProbeResult } from "./periodic.ts";

export interface ScriptProbeOptions {
  args: readonly string[];
  timeoutMs: number;
  outputMaxSize: number;
}

export function scriptProbe(o: ScriptProbeOptions, clock: Clock) {
  return (stop: AbortSignal): Promise<ProbeResult> =>
    new Promise<ProbeResult>((resolve) => {
      const [file, ...argv] = o.args;
      let child: ChildProcess;
      try {
        // A process group of its own, so a timeout can kill what the script started too.
        child = spawn(file ?? "", argv, { detached: true, stdio: ["ignore", "pipe", "pipe"] });
      } catch (err) {
        return resolve({ status: "critical", output: startError(file ?? "", err), direct: true });
      }
      const out = new TailBuffer(o.outputMaxSize);
      child.stdout?.on("data", (c: Uint8Array) => out.write(c));
      child.stderr?.on("data", (c: Uint8Array) => out.write(c));
      let timedOut = false;
      const kill = () => killGroup(child);
      const timer = clock.setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeoutMs);
      stop.addEventListener("abort", kill, { once: true });
      let started = true;
      child.once("error", (err) => {
        started = false;
        clock.clearTimeout(timer);
        stop.removeEventListener("abort", kill);
        resolve({ status: "critical", output: startError(file ?? "", err), direct: true });
      });
      child.once("close", (code) => {
        clock.clearTimeout(timer);
        stop.removeEventListener("abort", kill);
        if (!started) return;
        const text = out.textWithMarker();
        if (timedOut) {
          const msg = `Timed out (${formatGoDuration(o.timeoutMs)}) running check`;
          return resolve({ status: "critical", output: text.length > 0 ? `${msg}\n\n${text}` : msg, direct: true });
        }
        const status = code === 0 ? "passing" : code === 1 ? "warning" : "critical";
        resolve({ status, output: text });
      });
    });
}

/** Kills the script's process group; falls back to the script alone where groups are unavailable. */
function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  if (!killProcessGroup(child.pid)) child.kill("SIGKILL");
}

/** Go's exec errors: a bare name is looked up in $PATH, a path is executed as is. */
function startError(file: string, err: unknown): string {
  const code = (err as { code?: string }).code;
  if (code === "ENOENT") {
    return file.includes("/") ? `fork/exec ${file}: no such file or directory` : `exec: ${JSON.stringify(file)}: executable file not found in $PATH`;
  }
  if (code === "EACCES") return `fork/exec ${file}: permission denied`;
  return (err as Error).message ?? String(err);
}
