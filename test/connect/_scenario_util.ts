/** Helpers shared by the runtime-neutral mesh scenarios (they run under Bun, Deno and bundled for Node). */
import { type AddressInfo, createServer } from "node:net";
import nodeProcess from "node:process";

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** Polls `probe` every 25 ms until it gives a value, or throws after `ms`. */
export async function until<T>(what: string, ms: number, probe: () => Promise<T | null>): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== null) return { value: v, ms: Date.now() - t0 };
    if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const runtimeName = (): string =>
  typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "node";

/**
 * What every scenario process keeps: its result object, failed checks, log
 * lines, cleanups and current step; a watchdog reports the step it stuck at.
 */
export class Scenario {
  readonly result: Record<string, unknown> = { runtime: runtimeName() };
  readonly failures: string[] = [];
  readonly logs: string[] = [];
  /** Run in reverse order at the end, each given 5 s (a slow one is counted in result.slowCleanup). */
  readonly cleanup: (() => Promise<unknown>)[] = [];
  readonly logger = { debug() {}, info() {}, warn: (m: string) => this.logs.push(m), error: (m: string) => this.logs.push(m) };
  step = "start";
  private readonly watchdog: ReturnType<typeof setTimeout>;

  constructor(watchdogMs: number) {
    this.watchdog = setTimeout(() => {
      nodeProcess.stdout.write(`${JSON.stringify({ ...this.result, ok: false, error: `watchdog: stuck at step "${this.step}"`, failures: this.failures, logs: this.logs.slice(-10) })}\n`);
      nodeProcess.exit(1);
    }, watchdogMs);
  }

  readonly expect = (what: string, cond: boolean, detail?: unknown): void => {
    if (!cond) this.failures.push(`${what}${detail === undefined ? "" : `: ${JSON.stringify(detail)}`}`);
  };

  /** Cleans up, prints the result as one JSON line and exits 0 when no check failed. */
  async finish(): Promise<never> {
    const { result, failures } = this;
    this.step = "cleanup";
    for (const c of [...this.cleanup].reverse()) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const slow = new Promise((r) => (timer = setTimeout(() => r((result.slowCleanup = (Number(result.slowCleanup) || 0) + 1)), 5_000)));
      await Promise.race([c().catch(() => {}), slow]);
      clearTimeout(timer);
    }
    clearTimeout(this.watchdog);
    const ok = failures.length === 0;
    result.ok = ok;
    if (!ok) {
      result.failures = failures;
      result.logs = this.logs.slice(-10);
    }
    nodeProcess.stdout.write(`${JSON.stringify(result)}\n`);
    nodeProcess.exit(ok ? 0 : 1);
  }
}
