/**
 * Errors raised by the log implementations. Callers branch on the class (or on
 * `name` once an error has crossed a process boundary), never on the message.
 */

/** An append or snapshot was attempted on a log that was closed. */
export class LogClosedError extends Error {
  override readonly name = "LogClosedError";
  constructor(operation: string, options?: { cause?: unknown }) {
    super(`Log is closed: cannot ${operation}`, options);
  }
}

/** The log was used before `open()` completed, or `open()` was called twice. */
export class LogStateError extends Error {
  override readonly name = "LogStateError";
}

/**
 * Stored data failed verification somewhere other than the torn tail that a
 * crash can leave behind. Recovery refuses to continue, because dropping the
 * damaged records silently could lose acknowledged writes.
 */
export class LogCorruptionError extends Error {
  override readonly name = "LogCorruptionError";
  /** File that failed verification. */
  readonly file: string;
  /** Byte offset of the first bad byte in `file` (0 when the whole file is unusable). */
  readonly offset: number;
  constructor(file: string, offset: number, detail: string, options?: { cause?: unknown }) {
    super(
      `Log data is corrupt in "${file}" at byte ${offset}: ${detail}; restore the data directory from a backup or remove the damaged file deliberately`,
      options,
    );
    this.file = file;
    this.offset = offset;
  }
}

/**
 * Writing or syncing the log failed. The file may hold a partial batch, so the
 * log stops accepting appends; reopening it truncates the partial batch away.
 */
export class LogWriteError extends Error {
  override readonly name = "LogWriteError";
  readonly file: string;
  constructor(file: string, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : "";
    super(`Writing the log file "${file}" failed${why}; the log was stopped and must be reopened`, options);
    this.file = file;
  }
}

/**
 * The replicated log cannot be reached (no NATS connection, or JetStream
 * has no stream leader right now). Consul's word for this is "No cluster
 * leader"; the server answers 500 with it and recovers once the log is back.
 */
export class LogUnavailableError extends Error {
  override readonly name = "LogUnavailableError";
  /** What failed, for logs (the message stays Consul's exact text). */
  readonly detail: string;
  constructor(detail: string, options?: { cause?: unknown }) {
    super("No cluster leader", options);
    this.detail = detail;
  }
}
