/**
 * One bash process per README section, fed one command at a time, the way a
 * reader types them into a terminal: variables and the working folder carry
 * over, each command's output (stdout and stderr) lands in its own file.
 * Everything it starts shares one process group, killed when the section ends.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export interface Ran {
  readonly output: string;
  readonly code: number;
}

export class Shell {
  private readonly proc: ChildProcess;
  private buffered = "";
  private waiter: { id: string; resolve: (value: string) => void } | null = null;
  private seq = 0;
  private exited = false;

  private readonly scratch: string;

  constructor(cwd: string, env: Record<string, string>, scratch: string) {
    this.scratch = scratch;
    this.proc = spawn("bash", ["--noprofile", "--norc"], { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] });
    this.proc.stdout?.setEncoding("utf8");
    this.proc.stdout?.on("data", (chunk: string) => {
      this.buffered += chunk;
      this.deliver();
    });
    this.proc.stderr?.resume();
    this.proc.on("exit", () => {
      this.exited = true;
      this.waiter?.resolve("");
    });
  }

  private deliver(): void {
    if (!this.waiter) return;
    const m = new RegExp(`__DOC_${this.waiter.id}_(-?\\d*)\\n`).exec(this.buffered);
    if (!m) return;
    this.buffered = this.buffered.slice(m.index + m[0].length);
    const w = this.waiter;
    this.waiter = null;
    w.resolve(m[1] ?? "");
  }

  private send(script: string, id: string, timeoutMs: number): Promise<string | null> {
    return new Promise((resolve) => {
      if (this.exited) return resolve(null);
      const timer = setTimeout(() => {
        this.waiter = null;
        resolve(null);
      }, timeoutMs);
      this.waiter = {
        id,
        resolve: (v) => {
          clearTimeout(timer);
          resolve(this.exited ? null : v);
        },
      };
      this.proc.stdin?.write(script);
      this.deliver();
    });
  }

  /** Runs a command to its end; null when it did not end within the timeout. */
  async run(source: string, timeoutMs: number): Promise<Ran | null> {
    const id = String(++this.seq);
    const file = join(this.scratch, `out.${id}`);
    const code = await this.send(`{ ${source}\n} >'${file}' 2>&1 </dev/null; printf '\\n__DOC_${id}_%s\\n' $?\n`, id, timeoutMs);
    if (code === null) return null;
    return { output: readFileSync(file, "utf8"), code: Number(code) };
  }

  /** Starts a command that keeps running (disowned, so a later `wait` ignores it); returns its pid and log file. */
  async start(source: string): Promise<{ pid: number; log: string }> {
    const id = String(++this.seq);
    const log = join(this.scratch, `bg.${id}`);
    const pid = await this.send(`{ ${source}\n} >'${log}' 2>&1 </dev/null & disown; printf '\\n__DOC_${id}_%s\\n' $!\n`, id, 10_000);
    if (!pid) throw new Error("the shell did not start the command");
    return { pid: Number(pid), log };
  }

  /** SIGTERM to everything the section started, SIGKILL to what is left after a few seconds. */
  async close(): Promise<void> {
    const group = this.proc.pid;
    if (group === undefined) return;
    const alive = () => {
      try {
        process.kill(-group, 0);
        return true;
      } catch {
        return false;
      }
    };
    const signal = (s: NodeJS.Signals) => {
      try {
        process.kill(-group, s);
      } catch {
        // already gone
      }
    };
    signal("SIGTERM");
    for (let i = 0; i < 50 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
    signal("SIGKILL");
    for (let i = 0; i < 20 && alive(); i++) await new Promise((r) => setTimeout(r, 100));
  }
}
