/**
 * Running `consulate connect proxy` under Bun when `consulate` was started by
 * Node. Node cannot replace its process with another program, so the Node
 * process stays as a launcher beside a Bun child:
 *   - the child's stdin is a pipe the launcher holds open and never writes;
 *     the child reads it and, on end of file (the launcher is gone, even by
 *     SIGKILL), stops as on SIGTERM and exits within a second at most;
 *   - the launcher relays SIGINT, SIGTERM and SIGHUP to the child (the drain
 *     on SIGTERM happens there) and exits with the child's exit code
 *     (128 + the signal's number when a signal ended it);
 *   - stdout and stderr are the launcher's own.
 * `CONSULATE_PROXY_RUNTIME=node|bun` chooses; unset, Bun runs the proxy when it
 * is installed (node_modules/.bin/bun beside the package, the `bun` package's
 * binary, else `bun` on the PATH) and Node when it is not. Started under Bun
 * or Deno, the proxy runs in place.
 */
import { spawn } from "node:child_process";
import { accessSync, constants as fsConstants, existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { constants as osConstants } from "node:os";
import { delimiter, dirname, join } from "node:path";
import nodeProcess from "node:process";
import { fileURLToPath } from "node:url";

export const PROXY_RUNTIME_ENV = "CONSULATE_PROXY_RUNTIME";
/** Set in the child's environment: its stdin is the launcher's pipe. */
const LAUNCHER_PIPE_ENV = "CONSULATE_LAUNCHER_PIPE";
/** How long a child whose launcher is gone may take to stop before it exits anyway. */
const ORPHAN_GRACE_MS = 1000;
const RELAYED = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export type ProxyRuntime = "auto" | "node" | "bun";

export class ProxyRuntimeError extends Error {
  override readonly name = "ProxyRuntimeError";
}

/** The runtime executing this process. */
export function currentRuntime(): "bun" | "deno" | "node" {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  return g.Bun ? "bun" : g.Deno ? "deno" : "node";
}

/** CONSULATE_PROXY_RUNTIME's value: unset or empty is "auto". */
export function parseProxyRuntime(value: string | undefined): ProxyRuntime {
  if (value === undefined || value === "") return "auto";
  const v = value.trim().toLowerCase();
  if (v === "node" || v === "bun") return v;
  throw new ProxyRuntimeError(`${PROXY_RUNTIME_ENV} must be "node" or "bun" (unset: Bun when it is installed, else Node), not ${JSON.stringify(value)}`);
}

/** The directory of the `consulate` package this file belongs to (src/runtime/ in the sources, dist/ in the bundle). */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string | null {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, "utf8")) as { name?: unknown }).name === "consulate") return dir;
      } catch {
        // not ours; keep climbing
      }
    }
    if (dirname(dir) === dir) return null;
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The `bun` package's binary as npm resolves it from the package root (hoisted installs included). */
function bunFromPackage(root: string): string | null {
  try {
    const pkgJson = createRequire(join(root, "package.json")).resolve("bun/package.json");
    const bin = (JSON.parse(readFileSync(pkgJson, "utf8")) as { bin?: string | Record<string, string> }).bin;
    const rel = typeof bin === "string" ? bin : bin?.bun;
    return rel ? join(dirname(pkgJson), rel) : null;
  } catch {
    return null;
  }
}

/** Bun's executable: beside the package first, then on the PATH; null when there is none. */
export function findBun(root: string | null, path: string = nodeProcess.env.PATH ?? ""): string | null {
  const candidates = root ? [join(root, "node_modules/.bin/bun"), bunFromPackage(root)] : [];
  for (const dir of path.split(delimiter)) if (dir !== "") candidates.push(join(dir, "bun"));
  for (const c of candidates) if (c && executable(c)) return c;
  return null;
}

/** The child's exit status as a process exit code (128 + n for signal n, as a shell reports it). */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? osConstants.signals[signal] : undefined;
  return n === undefined ? 1 : 128 + n;
}

/**
 * Runs `consulate <argv>` under Bun as a child (see the file's comment) when
 * this process is Node and `choice` (CONSULATE_PROXY_RUNTIME, parsed) asks
 * for or allows it; `env` is the child's environment. Resolves with the
 * child's exit code, or null when the command should run here. Throws
 * ProxyRuntimeError when `choice` is "bun" and Bun cannot be found or started.
 */
export async function runUnderBun(argv: readonly string[], choice: ProxyRuntime, env: Record<string, string | undefined>): Promise<number | null> {
  if (currentRuntime() !== "node" || choice === "node") return null;
  const root = packageRoot();
  const main = root ? join(root, "src/cli/main.ts") : null;
  const bun = main && existsSync(main) ? findBun(root, env.PATH ?? "") : null;
  if (!bun || !main) {
    if (choice === "bun") throw new ProxyRuntimeError(`${PROXY_RUNTIME_ENV}=bun but no Bun was found (node_modules/.bin/bun beside the consulate package, or bun on the PATH)`);
    return null;
  }
  const child = spawn(bun, [main, ...argv], {
    stdio: ["pipe", "inherit", "inherit"],
    // Bun's allocator otherwise returns freed pages within ~10 ms and faults them in again on the next socket read (bench/gateway/README.md).
    env: { ...env, [LAUNCHER_PIPE_ENV]: "1", MIMALLOC_PURGE_DELAY: env.MIMALLOC_PURGE_DELAY ?? "-1" },
  });
  const started = await new Promise<Error | null>((resolve) => {
    child.once("spawn", () => resolve(null));
    child.once("error", resolve);
  });
  if (started) {
    if (choice === "bun") throw new ProxyRuntimeError(`${PROXY_RUNTIME_ENV}=bun but ${bun} could not be started: ${started.message}`);
    return null;
  }
  // The pipe stays open as long as this process lives; nothing is written to it.
  child.stdin!.on("error", () => {});
  const relays = RELAYED.map((sig) => {
    const relay = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    };
    nodeProcess.on(sig, relay);
    return () => nodeProcess.off(sig, relay);
  });
  const code = await new Promise<number>((resolve) => child.once("exit", (c, s) => resolve(exitCodeOf(c, s))));
  for (const off of relays) off();
  child.stdin!.destroy();
  return code;
}

/**
 * For the process entry, before any command loads (so the launcher stays a
 * bare Node process): `consulate connect proxy ...` under Bun when this is
 * Node and CONSULATE_PROXY_RUNTIME allows it. The exit code, or null to run
 * the command here; a bad choice is reported as the command would, exit 1.
 */
export async function proxyInChild(argv: readonly string[]): Promise<number | null> {
  if (argv[0] !== "connect" || argv[1] !== "proxy" || currentRuntime() !== "node") return null;
  try {
    return await runUnderBun(argv, parseProxyRuntime(nodeProcess.env[PROXY_RUNTIME_ENV]), nodeProcess.env);
  } catch (err) {
    if (!(err instanceof ProxyRuntimeError)) throw err;
    nodeProcess.stderr.write(`==> ${err.message}\n`);
    return 1;
  }
}

/**
 * In a child started by runUnderBun: when the launcher's pipe on stdin ends,
 * stop as on SIGTERM and exit after ORPHAN_GRACE_MS at most. A no-op in any
 * other process.
 */
export function exitWithLauncher(): void {
  if (nodeProcess.env[LAUNCHER_PIPE_ENV] !== "1") return;
  delete nodeProcess.env[LAUNCHER_PIPE_ENV];
  let gone = false;
  const onGone = () => {
    if (gone) return;
    gone = true;
    setTimeout(() => nodeProcess.exit(1), ORPHAN_GRACE_MS);
    nodeProcess.kill(nodeProcess.pid, "SIGTERM");
  };
  nodeProcess.stdin.on("end", onGone);
  nodeProcess.stdin.on("close", onGone);
  nodeProcess.stdin.on("error", onGone);
  nodeProcess.stdin.resume();
}
