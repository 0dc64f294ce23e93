/** Go `time.Duration` text, as Consul reads and writes it. */

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

/** Parses "1h2m3.5s", "100ms", "-5s" or "0" into milliseconds; null when invalid. */
export function parseGoDuration(text: string): number | null {
  try {
    return parseDuration(text.trim());
  } catch (err) {
    if (err instanceof DurationError) return null;
    throw err;
  }
}

/** Formats milliseconds the way Go's Duration.String() does ("15s", "1m30s", "100ms", "0s"). */
export function formatGoDuration(ms: number): string {
  if (ms === 0) return "0s";
  const neg = ms < 0;
  let ns = Math.round(Math.abs(ms) * 1e6);
  let out: string;
  if (ns < 1e9) {
    if (ns < 1e3) out = `${ns}ns`;
    else if (ns < 1e6) out = `${trim(ns / 1e3)}µs`;
    else out = `${trim(ns / 1e6)}ms`;
  } else {
    const h = Math.floor(ns / 3.6e12);
    ns -= h * 3.6e12;
    const m = Math.floor(ns / 6e10);
    ns -= m * 6e10;
    const s = trim(ns / 1e9);
    out = h > 0 ? `${h}h${m}m${s}s` : m > 0 ? `${m}m${s}s` : `${s}s`;
  }
  return neg ? `-${out}` : out;
}

function trim(n: number): string {
  return String(Number(n.toFixed(9)));
}

/**
 * Reads a duration the way Consul's JSON decoder does: a Go duration string or
 * a number of nanoseconds. Returns milliseconds, or null when not a duration.
 */
export function durationFromJson(value: unknown): number | null {
  if (typeof value === "number" && Number.isFinite(value)) return value / 1e6;
  if (typeof value === "string") return parseGoDuration(value);
  return null;
}
