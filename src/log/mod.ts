export type { Log, LogEntry, LogSnapshot, RecoveredLog } from "./log.ts";
export { LocalLog } from "./local.ts";
export type { LocalLogOptions, LocalLogStats } from "./local.ts";
export { MemoryLog } from "./memory.ts";
export { LogClosedError, LogCorruptionError, LogStateError, LogWriteError } from "./errors.ts";
export { crc32 } from "./crc32.ts";
