/**
 * Go `time.Duration` strings ("15s", "1m30s", "250ms"), which Consul uses for
 * session TTLs and the CLI uses for flags such as `lock -timeout`.
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  "μs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** A string that Go's `time.ParseDuration` would reject; the message matches Go's. */
export class DurationError extends Error {
  override readonly name = "DurationError";
  readonly input: string;

  constructor(message: string, input: string) {
    super(message);
    this.input = input;
  }
}

/**
 * Parses a Go duration into milliseconds (fractional below 1 ms).
 *
 * @example
 * parseDuration("1m30s"); // 90000
 */
export function parseDuration(input: string): number {
  const quoted = JSON.stringify(input);
  let s = input;
  let sign = 1;
  if (s.startsWith("-") || s.startsWith("+")) {
    if (s[0] === "-") sign = -1;
    s = s.slice(1);
  }
  if (s === "0") return 0;
  if (s === "") throw new DurationError(`time: invalid duration ${quoted}`, input);
  let total = 0;
  while (s !== "") {
    const num = /^(\d*)(\.\d*)?/.exec(s);
    const whole = num?.[1] ?? "";
    const frac = num?.[2] ?? "";
    if (whole === "" && (frac === "" || frac === ".")) {
      throw new DurationError(`time: invalid duration ${quoted}`, input);
    }
    s = s.slice(whole.length + frac.length);
    const unit = /^[^\d.]*/.exec(s)?.[0] ?? "";
    if (unit === "") throw new DurationError(`time: missing unit in duration ${quoted}`, input);
    const factor = UNIT_MS[unit];
    if (factor === undefined) {
      throw new DurationError(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`, input);
    }
    s = s.slice(unit.length);
    total += Number(`${whole === "" ? "0" : whole}${frac === "." ? "" : frac}`) * factor;
  }
  return sign * total;
}

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
