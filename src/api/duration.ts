/**
 * Go `time.Duration` strings ("15s", "1m30s", "250ms"), which Consul uses for
 * session TTLs and the CLI uses for flags such as `lock -timeout`. Parsing is
 * shared with the server side (src/structs/duration.ts).
 */
export { DurationError, parseDuration } from "../structs/duration.ts";

/**
 * Formats milliseconds the way Go's client sends `wait` and `LockDelay`:
 * whole milliseconds, and never "0ms" for a positive value (the agent would
 * read 0 as "use the default").
 */
export function durationToMsec(ms: number): string {
  let whole = Math.trunc(ms);
  if (ms > 0 && whole === 0) whole = 1;
  return `${whole}ms`;
}
