/** Medians and fixed-width text tables for the KV bench output. */

export function median(xs: readonly number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function fmt(x: number, digits = 2): string {
  if (Number.isNaN(x)) return "n/a";
  return x.toFixed(digits);
}

export function fmtInt(x: number): string {
  if (Number.isNaN(x)) return "n/a";
  return Math.round(x).toLocaleString("en-US");
}

/** Left-aligns the first column and right-aligns the rest. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => (r[i] ?? "").length)));
  return all
    .map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join("  "))
    .join("\n");
}

export type Goal = { readonly atLeast: number } | { readonly atMost: number };

/** `value  (target >= x)  PASS`, or no verdict when there is no goal. */
export function verdict(value: number, goal?: Goal): string {
  if (!goal) return "";
  if (Number.isNaN(value)) return "n/a";
  if ("atLeast" in goal) return `(target >= ${goal.atLeast})  ${value >= goal.atLeast ? "PASS" : "FAIL"}`;
  return `(target <= ${goal.atMost})  ${value <= goal.atMost ? "PASS" : "FAIL"}`;
}
