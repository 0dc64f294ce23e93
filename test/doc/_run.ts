/**
 * Runs one README section in a fresh folder and reports every command whose
 * output or exit status differs from what the README shows.
 */
import { spawnSync } from "node:child_process";
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, mkdirSync, writeFileSync, chmodSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { freePort } from "../e2e/_agent.ts";
import { type DocCommand, type DocSection, matches } from "./_parse.ts";
import { Shell } from "./_shell.ts";

export const ROOT = resolve(import.meta.dir, "../..");

/** How `consulate` starts on each runtime (what `npm install -g .` gives on Node). */
export const RUNTIMES = {
  node: `exec node '${ROOT}/bin/consulate.mjs' "$@"`,
  bun: `exec '${ROOT}/node_modules/.bin/bun' '${ROOT}/bin/consulate.mjs' "$@"`,
  deno: `exec '${ROOT}/node_modules/.bin/deno' run -A '${ROOT}/bin/consulate.mjs' "$@"`,
} as const;
export type Runtime = keyof typeof RUNTIMES;

/** Port numbers the README may write; each is replaced by a free port, the same one throughout a section. */
const PORT_RE = /\b(8[3-6]\d\d|42\d\d|62\d\d|9090|9191|8080)\b/g;
/** An agent's ports, and the flag that sets each; an agent command without the flag gets it, on the mapped default. */
const AGENT_PORTS = [
  ["-http-port", 8500],
  ["-dns-port", 8600],
  ["-server-port", 8300],
  ["-serf-lan-port", 8301],
  ["-serf-wan-port", 8302],
] as const;
const AGENT_RE = /\bconsulate(\.mjs)? agent\b|\bmain\.ts agent\b|\bdeno task dev\b/;
const COMMAND_TIMEOUT_MS = 30_000;
const EVENTUALLY_MS = 60_000;
const READY_MS = 60_000;

export interface Failure {
  readonly line: number;
  readonly command: string;
  readonly why: string;
}

class PortMap {
  private readonly map = new Map<number, number>();
  async prepare(texts: string[]): Promise<void> {
    const wanted = new Set<number>(AGENT_PORTS.map(([, p]) => p));
    for (const t of texts) for (const m of t.matchAll(PORT_RE)) wanted.add(Number(m[1]));
    for (const p of wanted) if (!this.map.has(p)) this.map.set(p, await freePort());
  }
  get(p: number): number {
    const mapped = this.map.get(p);
    if (mapped === undefined) throw new Error(`port ${p} was not prepared`);
    return mapped;
  }
  rewrite(text: string): string {
    return text.replace(PORT_RE, (m) => String(this.get(Number(m))));
  }
}

/** The command as run: the README's ports replaced, and an agent given every port flag it leaves to the default. */
function rewrite(cmd: DocCommand, ports: PortMap): string {
  let src = ports.rewrite(cmd.source);
  if (AGENT_RE.test(src)) {
    const extra = AGENT_PORTS.filter(([flag]) => !src.includes(`${flag} `)).map(([flag, p]) => `${flag} ${ports.get(p)}`);
    const bg = /\s*&\s*$/.exec(src);
    if (bg) src = src.slice(0, bg.index);
    src = `${src} ${extra.join(" ")}${bg ? " &" : ""}`;
  }
  return src;
}

/** A started command's output so far (its file appears once the shell has forked it). */
function readLog(log: string): string {
  try {
    return readFileSync(log, "utf8");
  } catch {
    return "";
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tcpOpen(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      res(true);
    });
    s.once("error", () => res(false));
  });
}

async function get(port: number, path: string): Promise<string | null> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2000) });
    const body = await r.text();
    return r.ok ? body : null;
  } catch {
    return null;
  }
}

/** The agent answers; one that elects itself (`-dev`, `-bootstrap`) also has a leader. */
async function agentReady(port: number, electsItself: boolean): Promise<boolean> {
  if ((await get(port, "/v1/agent/self")) === null) return false;
  return !electsItself || /"[^"]+"/.test((await get(port, "/v1/status/leader")) ?? "");
}

/** Waits until a started agent answers HTTP (or a nats-server takes connections); an error if it exits first. */
async function waitReady(src: string, pid: number, log: string): Promise<string | null> {
  const http = AGENT_RE.test(src) ? /-http-port (\d+)/.exec(src) : null;
  const nats = /\bnats-server\b.*\s-p (\d+)/.exec(src);
  const electsItself = /\s-(dev|bootstrap)(\s|$)|\btask dev\b/.test(src);
  const probe = http ? () => agentReady(Number(http[1]), electsItself) : nats ? () => tcpOpen(Number(nats[1])) : null;
  const deadline = Date.now() + READY_MS;
  for (;;) {
    if (!alive(pid)) return `it exited:\n${readLog(log)}`;
    if (!probe || (await probe())) return null;
    if (Date.now() > deadline) return `not ready after ${READY_MS / 1000} s:\n${readLog(log)}`;
    await sleep(200);
  }
}

function describe(cmd: DocCommand, output: string, code: number): string {
  const want = cmd.expect.map((e) => `${e.eventually ? "~>" : "->"} ${e.text}`).join("\n");
  return `exit ${code}${cmd.exitCode ? ` (README says ${cmd.exitCode})` : ""}; README expects:\n${want || "(nothing)"}\ngot:\n${output.slice(0, 4000)}`;
}

/** A folder that looks like a clone of the repository (its top-level entries linked), so relative paths in the README work. */
function cloneLike(): string {
  const dir = mkdtempSync(join(tmpdir(), "consulate-doc-"));
  for (const name of readdirSync(ROOT)) {
    if (!name.startsWith(".")) symlinkSync(join(ROOT, name), join(dir, name));
  }
  return dir;
}

/** What a section wrote into the clone-like folder that git would not ignore in the real clone. */
function leftBehind(cwd: string): string[] {
  const written = readdirSync(cwd)
    .filter((name) => !lstatSync(join(cwd, name)).isSymbolicLink())
    .map((name) => (lstatSync(join(cwd, name)).isDirectory() ? `${name}/` : name));
  if (written.length === 0) return [];
  const ignored = spawnSync("git", ["check-ignore", "--no-index", ...written], { cwd: ROOT, encoding: "utf8" }).stdout.split("\n");
  return written.filter((name) => !ignored.includes(name));
}

export async function runSection(section: DocSection, runtime: Runtime): Promise<Failure[]> {
  const ports = new PortMap();
  await ports.prepare(section.commands.flatMap((c) => [c.source, ...c.expect.map((e) => e.text)]));
  const cwd = cloneLike();
  const scratch = mkdtempSync(join(tmpdir(), "consulate-doc-out-"));
  const bin = join(scratch, "bin");
  mkdirSync(bin);
  writeFileSync(join(bin, "consulate"), `#!/usr/bin/env bash\n${RUNTIMES[runtime]}\n`);
  chmodSync(join(bin, "consulate"), 0o755);
  const env: Record<string, string> = {
    PATH: `${bin}:${join(ROOT, "node_modules/.bin")}:${process.env.PATH ?? ""}`,
    HOME: process.env.HOME ?? scratch,
    CONSUL_HTTP_ADDR: `127.0.0.1:${ports.get(8500)}`,
    NO_COLOR: "1",
    DENO_NO_UPDATE_CHECK: "1",
  };
  const shell = new Shell(cwd, env, scratch);
  const failures: Failure[] = [];
  try {
    for (const cmd of section.commands) {
      const src = rewrite(cmd, ports);
      const fail = (why: string) => failures.push({ line: cmd.line, command: cmd.source, why });
      if (cmd.keepsRunning) {
        // An agent restarted on the same ports waits for the one that was told to leave to be gone.
        const http = AGENT_RE.test(src) ? /-http-port (\d+)/.exec(src) : null;
        for (let i = 0; http && i < 150 && (await tcpOpen(Number(http[1]))); i++) await sleep(200);
        const { pid, log } = await shell.start(src);
        const notReady = await waitReady(src, pid, log);
        if (notReady) {
          fail(notReady);
          break;
        }
        const deadline = Date.now() + EVENTUALLY_MS;
        let out = readLog(log);
        while (!cmd.expect.every((e) => matches(out, ports.rewrite(e.text))) && Date.now() < deadline) {
          await sleep(300);
          out = readLog(log);
        }
        if (!cmd.expect.every((e) => matches(out, ports.rewrite(e.text)))) fail(describe(cmd, out, 0));
        continue;
      }
      const eventually = cmd.expect.some((e) => e.eventually);
      const deadline = Date.now() + EVENTUALLY_MS;
      for (;;) {
        const ran = await shell.run(src, COMMAND_TIMEOUT_MS);
        if (ran === null) {
          fail(`did not finish within ${COMMAND_TIMEOUT_MS / 1000} s`);
          return failures;
        }
        const ok = ran.code === cmd.exitCode && cmd.expect.every((e) => matches(ran.output, ports.rewrite(e.text)));
        if (ok) break;
        if (!eventually || Date.now() > deadline) {
          fail(describe(cmd, ran.output, ran.code));
          break;
        }
        await sleep(500);
      }
    }
    for (const name of leftBehind(cwd)) {
      failures.push({ line: section.line, command: `(section "${section.heading}")`, why: `leaves ${name} in the clone: add it to .gitignore` });
    }
  } finally {
    await shell.close();
    rmSync(cwd, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  }
  return failures;
}
