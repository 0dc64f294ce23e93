/** Runs a scenario script as a child process (under Bun, Deno, or bundled for Node) and reads the JSON line it prints. */
import { spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { ROOT } from "../e2e/_agent.ts";

export interface ScenarioRun {
  readonly code: number | null;
  readonly json: Record<string, unknown> | null;
  readonly out: string;
}

export function runScenario(argv: string[], killAfterMs: number): Promise<ScenarioRun> {
  return new Promise((resolve) => {
    const p = spawn(argv[0]!, argv.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const t = setTimeout(() => p.kill("SIGKILL"), killAfterMs);
    p.on("close", (code) => {
      clearTimeout(t);
      const line = out.split("\n").find((l) => l.startsWith("{"));
      resolve({ code, json: line ? (JSON.parse(line) as Record<string, unknown>) : null, out });
    });
  });
}

/** Bundles `scenario` for Node inside the repo (so bare imports resolve from node_modules); the returned cleanup removes it. */
export async function bundleForNode(scenario: string, name: string): Promise<{ bundle: string; remove: () => Promise<void> }> {
  const bundle = join(ROOT, "dist", `${name}-${process.pid}.mjs`);
  const b = await runScenario([join(ROOT, "node_modules/.bin/esbuild"), scenario, "--bundle", "--platform=node", "--format=esm", "--target=node20", `--outfile=${bundle}`, "--packages=external", "--log-level=warning"], 60_000);
  if (b.code !== 0) throw new Error(`esbuild failed:\n${b.out}`);
  return { bundle, remove: () => rm(bundle, { force: true }) };
}
