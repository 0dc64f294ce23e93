/**
 * The fault schedule: one fault at a time, chosen at random from what the
 * targets allow (SIGKILL then restart, SIGSTOP then SIGCONT), each held for a
 * while, with quiet gaps between. Every fault is healed before the next one
 * starts and before the schedule returns.
 */

export interface FaultTarget {
  readonly name: string;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
  /** Start again (same ports, same data) and wait until it serves. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
}

export interface FaultEvent {
  readonly at: number;
  readonly target: string;
  readonly fault: "kill" | "pause";
  /** How long the fault was held (ms), and how long healing took. */
  readonly heldMs: number;
  readonly healMs: number;
}

export interface ScheduleOptions {
  readonly durationMs: number;
  readonly rand: () => number;
  /** Range of the time a fault is held (ms). */
  readonly holdMs: readonly [number, number];
  /** Range of the quiet gap between faults (ms). */
  readonly gapMs: readonly [number, number];
  readonly log?: (line: string) => void;
  /** Which faults to draw from; both by default. */
  readonly faults?: readonly ("kill" | "pause")[];
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function runFaultSchedule(targets: readonly FaultTarget[], o: ScheduleOptions): Promise<FaultEvent[]> {
  const events: FaultEvent[] = [];
  const t0 = performance.now();
  const between = ([lo, hi]: readonly [number, number]) => lo + o.rand() * (hi - lo);
  while (performance.now() - t0 < o.durationMs) {
    await sleep(between(o.gapMs));
    if (performance.now() - t0 >= o.durationMs) break;
    const target = targets[Math.floor(o.rand() * targets.length)]!;
    const kinds = o.faults ?? (["kill", "pause"] as const);
    const fault = kinds[Math.floor(o.rand() * kinds.length)]!;
    const hold = between(o.holdMs);
    const at = performance.now() - t0;
    if (fault === "kill") await target.kill();
    else target.pause();
    await sleep(hold);
    const healStart = performance.now();
    if (fault === "kill") await target.restart();
    else target.resume();
    const event = { at, target: target.name, fault, heldMs: Math.round(hold), healMs: Math.round(performance.now() - healStart) } as const;
    events.push(event);
    o.log?.(`${(at / 1000).toFixed(1)}s ${fault} ${target.name} for ${event.heldMs} ms (healed in ${event.healMs} ms)`);
  }
  return events;
}

/** A small seeded PRNG (LCG), so a failing schedule can be replayed with its seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}
