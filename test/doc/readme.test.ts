/**
 * The README, executed: every `sh` block of README.md runs, section by
 * section, each in a fresh folder with fresh ports, under Node; the section
 * on runtimes runs again under Bun and Deno. See test/doc/README.md.
 *
 * Sections are independent (own folder, ports and processes), so a few run
 * at once: most of their time is spent waiting for agents and clusters.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type DocSection, parseDoc } from "./_parse.ts";
import { type Failure, ROOT, type Runtime, runSection } from "./_run.ts";

const sections = parseDoc(readFileSync(join(ROOT, "README.md"), "utf8"));
const RUNTIME_SECTION = /\bBun\b.*\bDeno\b/;
const PARALLEL = 3;

/** DOC_ONLY=<regex> runs only the sections whose heading matches (while editing one). */
const only = new RegExp(process.env.DOC_ONLY ?? "");
const runs: Array<{ section: DocSection; runtime: Runtime }> = [
  ...sections.map((section) => ({ section, runtime: "node" as const })),
  ...sections.filter((s) => RUNTIME_SECTION.test(s.heading)).flatMap((section) => [
    { section, runtime: "bun" as const },
    { section, runtime: "deno" as const },
  ]),
].filter((r) => only.test(r.section.heading));

/** Started lazily by the first test, then PARALLEL at a time; each test awaits its own. */
let results: Array<Promise<Failure[]>> | null = null;
function start(): Array<Promise<Failure[]>> {
  if (results) return results;
  const settle: Array<(f: Failure[]) => void> = [];
  results = runs.map(() => new Promise<Failure[]>((resolve) => settle.push(resolve)));
  let next = 0;
  const worker = async () => {
    while (next < runs.length) {
      const i = next++;
      const { section, runtime } = runs[i]!;
      settle[i]!(await runSection(section, runtime).catch((err: Error) => [{ line: section.line, command: "(runner)", why: err.stack ?? err.message }]));
    }
  };
  for (let w = 0; w < PARALLEL; w++) void worker();
  return results;
}

describe("README.md", () => {
  test("has sections with commands to run", () => {
    expect(sections.length).toBeGreaterThan(3);
  });
  runs.forEach(({ section, runtime }, i) => {
    test(`${section.heading} (line ${section.line}, ${runtime})`, async () => {
      const failures = await start()[i]!;
      const report = failures.map((f) => `README.md:${f.line}: ${f.command}\n${f.why}`).join("\n\n");
      expect(report).toBe("");
    }, 300_000);
  });
});
