/** Fault targets for the processes tests start: Consulate agents and nats-server nodes. */
import { join } from "node:path";
import type { NatsCluster } from "../_nats.ts";
import { type AgentProcess, startAgent } from "../e2e/_agent.ts";
import type { FaultTarget } from "./nemesis.ts";

/** A Consulate agent process that can be killed, restarted on the same port and data, and paused. */
export class AgentTarget implements FaultTarget {
  readonly name: string;
  private proc: AgentProcess;
  private readonly args: string[];
  private paused = false;

  private constructor(name: string, proc: AgentProcess, args: string[]) {
    this.name = name;
    this.proc = proc;
    this.args = args;
  }

  static async start(name: string, args: string[]): Promise<AgentTarget> {
    return new AgentTarget(name, await startAgent(args), args);
  }

  get base(): string {
    return this.proc.base;
  }

  get port(): number {
    return this.proc.port;
  }

  output(): string {
    return this.proc.output();
  }

  async kill(): Promise<void> {
    if (this.paused) this.resume();
    await this.proc.kill();
  }

  async restart(): Promise<void> {
    this.proc = await startAgent(this.args, { port: this.proc.port });
  }

  pause(): void {
    if (this.proc.child.pid !== undefined && this.proc.child.exitCode === null) {
      process.kill(this.proc.child.pid, "SIGSTOP");
      this.paused = true;
    }
  }

  resume(): void {
    if (this.proc.child.pid !== undefined && this.proc.child.exitCode === null) process.kill(this.proc.child.pid, "SIGCONT");
    this.paused = false;
  }

  /** SIGCONT if paused, then SIGKILL. */
  async destroy(): Promise<void> {
    if (this.paused) this.resume();
    await this.proc.kill();
  }
}

/** One node of a nats-server cluster as a fault target. */
export function natsTarget(cluster: NatsCluster, i: number): FaultTarget {
  return {
    name: `nats${i}`,
    kill: () => cluster.kill(i),
    restart: () => cluster.restart(i),
    pause: () => cluster.pause(i),
    resume: () => cluster.resume(i),
  };
}

export const dataDirArgs = (dir: string, node: string): string[] => ["-data-dir", join(dir, node), "-node", node];
