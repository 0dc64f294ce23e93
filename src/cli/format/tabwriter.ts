/**
 * Go's `text/tabwriter` for the settings Consul uses (minwidth 0, padding 6,
 * pad with spaces, no flags): tab-terminated cells in consecutive lines form
 * a column, padded to its widest cell plus the padding; the text after a
 * line's last tab is not part of any column.
 */
export function tabwrite(text: string, padding = 6, minwidth = 0): string {
  const lines = text.split("\n").map((l) => l.split("\t"));
  const out: string[] = [];
  format(lines, 0, lines.length, [], padding, minwidth, out);
  return out.join("\n");
}

function format(
  lines: string[][],
  line0: number,
  line1: number,
  widths: number[],
  padding: number,
  minwidth: number,
  out: string[],
): void {
  const column = widths.length;
  let start = line0;
  for (let cur = line0; cur < line1; cur++) {
    if (column >= (lines[cur]?.length ?? 0) - 1) continue;
    writeLines(lines, start, cur, widths, out);
    start = cur;
    let width = minwidth;
    for (; cur < line1; cur++) {
      const line = lines[cur] ?? [];
      if (column >= line.length - 1) break;
      width = Math.max(width, [...(line[column] ?? "")].length + padding);
    }
    format(lines, start, cur, [...widths, width], padding, minwidth, out);
    start = cur;
    cur--;
  }
  writeLines(lines, start, line1, widths, out);
}

function writeLines(lines: string[][], from: number, to: number, widths: number[], out: string[]): void {
  for (let i = from; i < to; i++) {
    const cells = lines[i] ?? [];
    out.push(
      cells
        .map((cell, j) => (j < widths.length && j < cells.length - 1 ? cell + " ".repeat(Math.max(0, (widths[j] ?? 0) - [...cell].length)) : cell))
        .join(""),
    );
  }
}
