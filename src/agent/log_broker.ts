/**
 * Hands the agent's log lines to whoever is watching (`/v1/agent/monitor`,
 * `consulate debug`), each at its own level: a monitor at DEBUG sees debug
 * lines of an agent that writes only INFO to its stderr, as in Consul.
 */
import { type LogLevel, LogLevels } from "./logger.ts";

export interface LogEntry {
  readonly time: Date;
  readonly level: LogLevel;
  readonly name: string;
  readonly message: string;
}

/** Consul's text shape: `<time> [LEVEL] <name>: <message>`. */
export function formatLogText(e: LogEntry): string {
  return `${e.time.toISOString()} [${e.level.toUpperCase()}] ${e.name}: ${e.message}`;
}

/** hclog's JSON shape, one object per line. */
export function formatLogJson(e: LogEntry): string {
  return JSON.stringify({ "@level": e.level, "@message": e.message, "@module": e.name, "@timestamp": e.time.toISOString() });
}

export class LogBroker {
  private readonly watchers = new Set<{ min: number; deliver: (e: LogEntry) => void; end: () => void }>();
  /** The lowest level anyone watches at (Infinity when nobody does), so unwatched debug lines cost nothing. */
  private lowest = Infinity;

  /** Whether a line at this level would reach anyone. */
  wants(level: LogLevel): boolean {
    return LogLevels.indexOf(level) >= this.lowest;
  }

  publish(entry: LogEntry): void {
    const at = LogLevels.indexOf(entry.level);
    for (const w of this.watchers) if (at >= w.min) w.deliver(entry);
  }

  /** Watches lines at `level` and above until the returned function is called; `end` runs if the agent stops first. */
  watch(level: LogLevel, deliver: (e: LogEntry) => void, end: () => void = () => {}): () => void {
    const w = { min: LogLevels.indexOf(level), deliver, end };
    this.watchers.add(w);
    this.recompute();
    return () => {
      this.watchers.delete(w);
      this.recompute();
    };
  }

  /** Ends every watch (the agent is stopping), so streams finish and the HTTP server can close. */
  close(): void {
    const all = [...this.watchers];
    this.watchers.clear();
    this.recompute();
    for (const w of all) w.end();
  }

  private recompute(): void {
    this.lowest = Math.min(Infinity, ...[...this.watchers].map((w) => w.min));
  }
}
