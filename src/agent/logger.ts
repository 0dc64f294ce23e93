/** Leveled log lines on stderr, in Consul's `<time> [LEVEL] <name>: <message>` shape. */
import { writeStderr } from "../runtime/process.ts";
import { formatLogText, type LogBroker } from "./log_broker.ts";

export const LogLevels = ["trace", "debug", "info", "warn", "error"] as const;
export type LogLevel = (typeof LogLevels)[number];

export interface Logger {
  trace(msg: string): void;
  debug(msg: string): void;
  info(msg: string): void;
  warn(msg: string): void;
  error(msg: string): void;
  named(name: string): Logger;
  /** Where watchers (`/v1/agent/monitor`) get the lines, at their own level; absent for loggers nobody can watch. */
  readonly broker?: LogBroker;
}

export function isLogLevel(v: string): v is LogLevel {
  return (LogLevels as readonly string[]).includes(v);
}

export function createLogger(level: LogLevel, name = "agent", sink: (line: string) => void = writeStderr, broker?: LogBroker): Logger {
  const min = LogLevels.indexOf(level);
  const at = (l: LogLevel) => (message: string) => {
    const logged = LogLevels.indexOf(l) >= min;
    const watched = broker?.wants(l) ?? false;
    if (!logged && !watched) return;
    const entry = { time: new Date(), level: l, name, message };
    if (logged) sink(`${formatLogText(entry)}\n`);
    if (watched) broker?.publish(entry);
  };
  return {
    trace: at("trace"),
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    named: (n) => createLogger(level, `${name}.${n}`, sink, broker),
    ...(broker ? { broker } : {}),
  };
}
