/**
 * Reads a Markdown file into what the doc test runs: sections (one per
 * heading), their `sh` blocks, and each block's commands with the outputs the
 * text promises. The conventions are described in test/doc/README.md.
 */

export interface Expectation {
  /** The promised text; `...` stands for anything. */
  readonly text: string;
  /** `~>`: the output may take a while to appear, so the command is retried. */
  readonly eventually: boolean;
}

export interface DocCommand {
  /** The command as the reader types it (continuation lines joined with newlines). */
  readonly source: string;
  /** 1-based line in the Markdown file, for messages. */
  readonly line: number;
  /** The comment says "keeps running": it is started and left running for the rest of the section. */
  readonly keepsRunning: boolean;
  readonly expect: Expectation[];
  /** `(exit N)` after the expected text; 0 when not given. */
  readonly exitCode: number;
}

export interface DocSection {
  readonly heading: string;
  readonly line: number;
  readonly commands: DocCommand[];
}

interface Scan {
  /** Still inside a quote, or ends with a backslash: the command goes on on the next line. */
  readonly open: boolean;
  /** Where a shell comment starts on this line, or -1. */
  readonly commentAt: number;
}

/** A small shell lexer: enough to find comments and unfinished quotes, not a parser. */
function scanLine(line: string, state: { quote: "" | "'" | '"' }): Scan {
  let commentAt = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (state.quote === "'") {
      if (c === "'") state.quote = "";
    } else if (c === "\\") {
      i++;
    } else if (state.quote === '"') {
      if (c === '"') state.quote = "";
    } else if (c === "'" || c === '"') {
      state.quote = c;
    } else if (c === "#" && (i === 0 || /\s/.test(line[i - 1] ?? ""))) {
      commentAt = i;
      break;
    }
  }
  const body = commentAt >= 0 ? line.slice(0, commentAt) : line;
  return { open: state.quote !== "" || /\\$/.test(body.trimEnd()), commentAt };
}

const EXPECT_RE = /(?:^|\s)(->|~>)\s?(.*)$/;

function parseComment(comment: string): { expect?: Expectation; exitCode?: number; keepsRunning: boolean } {
  const keepsRunning = /\bkeeps running\b/i.test(comment);
  const m = EXPECT_RE.exec(comment);
  if (!m) return { keepsRunning };
  let text = (m[2] ?? "").trim();
  let exitCode: number | undefined;
  const exit = /\(exit (\d+)\)$/.exec(text);
  if (exit) {
    exitCode = Number(exit[1]);
    text = text.slice(0, exit.index).trim();
  }
  return { expect: text ? { text, eventually: m[1] === "~>" } : undefined, exitCode, keepsRunning };
}

function parseBlock(lines: string[], firstLine: number): DocCommand[] {
  const out: Array<{ source: string; line: number; keepsRunning: boolean; expect: Expectation[]; exitCode: number }> = [];
  let pending: string[] = [];
  let pendingLine = 0;
  let pendingComments: string[] = [];
  const state: { quote: "" | "'" | '"' } = { quote: "" };
  lines.forEach((line, idx) => {
    const lineNo = firstLine + idx;
    const inside = pending.length > 0;
    if (!inside && /^\s*#/.test(line)) {
      // A comment line: `# -> text` adds to the previous command's expected output.
      const c = parseComment(line.replace(/^\s*#/, ""));
      const prev = out[out.length - 1];
      if (prev && c.expect) prev.expect.push(c.expect);
      if (prev && c.exitCode !== undefined) prev.exitCode = c.exitCode;
      return;
    }
    if (!inside && line.trim() === "") return;
    const scan = scanLine(line, state);
    if (!inside) pendingLine = lineNo;
    pending.push(scan.commentAt >= 0 ? line.slice(0, scan.commentAt).trimEnd() : line);
    if (scan.commentAt >= 0) pendingComments.push(line.slice(scan.commentAt + 1));
    if (scan.open) return;
    const cmd = { source: pending.join("\n"), line: pendingLine, keepsRunning: false, expect: [] as Expectation[], exitCode: 0 };
    for (const comment of pendingComments) {
      const c = parseComment(comment);
      if (c.keepsRunning) cmd.keepsRunning = true;
      if (c.expect) cmd.expect.push(c.expect);
      if (c.exitCode !== undefined) cmd.exitCode = c.exitCode;
    }
    out.push(cmd);
    pending = [];
    pendingComments = [];
  });
  if (pending.length > 0) throw new Error(`line ${pendingLine}: the command never ends (an open quote or a trailing backslash)`);
  return out;
}

/** Splits Markdown into sections; only fenced blocks whose info string is exactly `sh` run. */
export function parseDoc(markdown: string): DocSection[] {
  const lines = markdown.split("\n");
  const sections: Array<{ heading: string; line: number; commands: DocCommand[] }> = [];
  let current = { heading: "(top)", line: 1, commands: [] as DocCommand[] };
  sections.push(current);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? "";
    const fence = /^```(.*)$/.exec(line);
    if (fence) {
      const info = (fence[1] ?? "").trim();
      const body: string[] = [];
      const start = i + 2;
      for (i++; i < lines.length && !/^```\s*$/.test(lines[i] ?? ""); i++) body.push(lines[i] ?? "");
      if (info === "sh") current.commands.push(...parseBlock(body, start));
      continue;
    }
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) {
      current = { heading: heading[1] ?? "", line: i + 1, commands: [] };
      sections.push(current);
    }
  }
  return sections.filter((s) => s.commands.length > 0);
}

/** Whitespace runs count as one space, so tables and JSON compare by their words. */
function squash(s: string): string {
  return s.replace(/\s+/g, " ").trim();
}

/** Whether `output` holds `expected`, where `...` in `expected` matches anything. */
export function matches(output: string, expected: string): boolean {
  const parts = squash(expected)
    .split("...")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const hay = squash(output);
  let at = 0;
  for (const part of parts) {
    const found = hay.indexOf(part, at);
    if (found < 0) return false;
    at = found + part.length;
  }
  return true;
}
