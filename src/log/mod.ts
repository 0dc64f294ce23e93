export type { Log, LogEntry, LogSnapshot, RecoveredLog } from "./log.ts";
export { LocalLog } from "./local.ts";
export type { LocalLogOptions, LocalLogStats } from "./local.ts";
export { MemoryLog } from "./memory.ts";
export { LogClosedError, LogCorruptionError, LogStateError, LogUnavailableError, LogWriteError } from "./errors.ts";
export { crc32 } from "./crc32.ts";
export { JetStreamLog } from "./jetstream.ts";
export type { JetStreamLogOptions, JetStreamLogStats } from "./jetstream.ts";
export { clusterNames, type ClusterNames } from "./jetstream_names.ts";
