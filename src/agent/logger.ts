/** Leveled log lines on stderr, in Consul's `<time> [LEVEL] <name>: <message>` shape. */
import { writeStderr } from "../runtime/process.ts";

export const LogLevels = ["trace", "debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface Logger {
  trace(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  named(name: string): Logger;
}

export function isLogLevel(v: string): v is LogLevel {
  return (LogLevels as readonly string[]).includes(v);
}

export function createLogger(level: LogLevel, name = "agent", sink: (line: string) => void = writeStderr): Logger {
  const min = LogLevels.indexOf(level);
  const at = (l: LogLevel) => (msg: string) => {
    if (LogLevels.indexOf(l) < min) return;
    sink(`${new Date().toISOString()} [${l.toUpperCase()}] ${name}: ${msg}\n`);
  };
  return {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    named: (n) => createLogger(level, `${name}.${n}`, sink),
  };
}
