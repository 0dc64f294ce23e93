/**
 * ryanuber/columnize with Consul's settings (delimiter U+001F, glue two
 * spaces): every column but the last is padded to its widest cell; cells are
 * trimmed; no trailing newline.
 */
export const COLUMN_DELIM = "\x1f";

export function columnize(lines: readonly string[], delim = COLUMN_DELIM, glue = "  "): string {
  const rows = lines.map((l) => l.split(delim).map((c) => c.trim()));
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, runeCount(cell));
    });
  }
  return rows
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell + " ".repeat((widths[i] ?? 0) - runeCount(cell)) + glue))
        .join(""),
    )
    .join("\n");
}

function runeCount(s: string): number {
  return [...s].length;
}
