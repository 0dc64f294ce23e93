/**
 * The runtime a bench runs the system under test on: `RUNTIME=node|bun|deno`,
 * by default the one `npx consulate` (bin/consulate.mjs) picks. Node runs the
 * esbuild bundle in dist/ (built here when missing or older than src/), Bun
 * and Deno run the TypeScript sources. The bench drivers themselves run
 * under Bun.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { env } from "../src/runtime/process.ts";
import { findBun, PROXY_RUNTIME_ENV } from "../src/runtime/relaunch.ts";

export const RUNTIMES = ["node", "bun", "deno"] as const;
export type Runtime = (typeof RUNTIMES)[number];

export class RuntimeChoiceError extends Error {
  override readonly name = "RuntimeChoiceError";
}

/** The repository root (this file sits in bench/). */
export const ROOT = resolve(import.meta.dirname ?? ".", "..");

const BIN = {
  bun: join(ROOT, "node_modules/.bin/bun"),
  deno: join(ROOT, "node_modules/.bin/deno"),
  node: "node",
} as const;

/**
 * What `npx consulate` runs the agent and the CLI on: bin/consulate.mjs is a
 * `#!/usr/bin/env node` script that stays on Node (README "Run it on Bun,
 * Deno or Node" says why), so Node. Proxies: defaultProxyRuntime().
 */
export function defaultRuntime(): Runtime {
  return "node";
}

/**
 * What `consulate connect proxy` (sidecars and gateways) runs on: started by
 * Node, it runs the proxy as a Bun child when Bun is installed (README "Run
 * it on Bun, Deno or Node"), so Bun here, else Node.
 */
export function defaultProxyRuntime(): Runtime {
  return findBun(ROOT) ? "bun" : "node";
}

/** RUNTIME from the environment, else `byDefault()` (the agent's default unless said). */
export function sutRuntime(byDefault: () => Runtime = defaultRuntime): Runtime {
  const asked = env("RUNTIME");
  if (asked === undefined || asked === "") return byDefault();
  if ((RUNTIMES as readonly string[]).includes(asked)) return asked as Runtime;
  throw new RuntimeChoiceError(`RUNTIME must be one of ${RUNTIMES.join(", ")}, not ${JSON.stringify(asked)}`);
}

/** Newest modification time under `dir` (ms). */
function newest(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** Builds dist/ when it is missing or older than src/ or gateways/ (the CLI bundles both), so Node measures the code in the tree. */
export function ensureBundle(): void {
  const bundle = join(ROOT, "dist/consulate.mjs");
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= Math.max(newest(join(ROOT, "src")), newest(join(ROOT, "gateways")))) return;
  execFileSync("npm", ["run", "--silent", "build"], { cwd: ROOT, stdio: "inherit" });
}

/**
 * RUNTIME=node measures Node: children started from here on keep
 * `connect proxy` in the Node process instead of a Bun child whose CPU the
 * bench would not count (unless CONSULATE_PROXY_RUNTIME says otherwise).
 */
export function keepProxiesOnNode(): void {
  process.env[PROXY_RUNTIME_ENV] ??= "node";
}

/** The command that runs the `consulate` CLI on `rt` (append its arguments). */
export function consulateArgv(rt: Runtime): string[] {
  if (rt === "node") {
    keepProxiesOnNode();
    ensureBundle();
    return [BIN.node, join(ROOT, "dist/consulate.mjs")];
  }
  if (rt === "bun") return [BIN.bun, join(ROOT, "src/cli/main.ts")];
  return [BIN.deno, "run", "-A", "--quiet", join(ROOT, "src/cli/main.ts")];
}

/** The command that runs a plain script (.mjs, or .ts on Bun and Deno) on `rt`. */
export function scriptArgv(rt: Runtime, script: string): string[] {
  if (rt === "deno") return [BIN.deno, "run", "-A", "--quiet", script];
  return [BIN[rt], script];
}

function firstLine(cmd: string, argv: readonly string[]): string {
  try {
    return execFileSync(cmd, argv).toString().split("\n")[0]!.trim();
  } catch {
    return "unknown";
  }
}

/** `node v20.20.2` / `bun 1.4.5` / `deno 2.9.5 (...)`. */
export function runtimeVersion(rt: Runtime): string {
  if (rt === "node") return `node ${firstLine(BIN.node, ["--version"])}`;
  if (rt === "bun") return `bun ${firstLine(BIN.bun, ["--version"])}`;
  return firstLine(BIN.deno, ["--version"]);
}

/** One line for a bench header: the runtime under test, every runtime's version, the commit. */
export function runtimeBanner(rt: Runtime, byDefault: () => Runtime = defaultRuntime): string {
  const all = RUNTIMES.map(runtimeVersion).join(", ");
  return `system under test on ${rt} (${runtimeVersion(rt)}; RUNTIME=node|bun|deno, default ${byDefault()}); versions: ${all}; commit ${firstLine("git", ["-C", ROOT, "rev-parse", "--short", "HEAD"])}`;
}
