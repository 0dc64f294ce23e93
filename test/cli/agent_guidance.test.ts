/** What `consulate agent` tells a newcomer: flag help, unknown flags, a port in use, an HCL config. */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createSocket } from "node:dgram";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, freePort, ROOT } from "../e2e/_agent.ts";

const scratch = mkdtempSync(join(tmpdir(), "consulate-guidance-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function agent(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(BUN, [join(ROOT, "src/cli/main.ts"), "agent", ...args], { encoding: "utf8", timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

async function ports(): Promise<Record<string, number>> {
  return {
    "-http-port": await freePort(),
    "-dns-port": await freePort(),
    "-server-port": await freePort(),
    "-serf-lan-port": await freePort(),
    "-serf-wan-port": await freePort(),
  };
}
const flags = (p: Record<string, number>) => Object.entries(p).flatMap(([f, v]) => [f, String(v)]);

test("agent -h lists each flag once with a plain placeholder", () => {
  const r = agent(["-h"]);
  expect(r.code).toBe(0);
  expect(r.err).toContain("  -config-dir=<value>\n");
  expect(r.err).toContain("  -retry-join=<value>\n");
  expect(r.err).not.toContain("<=<");
});

test("an unknown flag names it and points at -h", () => {
  const r = agent(["-frob"]);
  expect(r.code).toBe(1);
  expect(r.err).toContain("flag provided but not defined: -frob");
  expect(r.err).toContain('Run "consulate agent -h" for the list of flags.');
});

test("a port in use names the flag and the config key that move it", async () => {
  const p = await ports();
  const tcp = createServer();
  await new Promise<void>((res) => tcp.listen(p["-http-port"], "127.0.0.1", res));
  try {
    const r = agent(["-dev", ...flags(p)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`Port ${p["-http-port"]} is already taken`);
    expect(r.err).toContain('another port with -http-port (or "ports": {"http": ...} in a config file)');
  } finally {
    tcp.close();
  }
  const q = await ports();
  const udp = createSocket("udp4");
  await new Promise<void>((res) => udp.bind(q["-serf-lan-port"], "127.0.0.1", res));
  try {
    const r = agent(["-dev", ...flags(q)]);
    expect(r.code).toBe(1);
    expect(r.err).toContain('-serf-lan-port (or "ports": {"serf_lan": ...}');
  } finally {
    udp.close();
  }
}, 120_000);

test("an HCL config file is read as HCL, and a syntax error names the file", async () => {
  const p = await ports();
  const bad = join(scratch, "agent.hcl");
  writeFileSync(bad, 'ports {\n  http = "\n');
  const r = agent(["-dev", ...flags(p), "-config-file", bad]);
  expect(r.code).toBe(1);
  expect(r.err).toContain(`==> Error parsing ${bad}`);
  const hclInJson = join(scratch, "agent.json");
  writeFileSync(hclInJson, 'node_name = "n1"\n');
  const j = agent(["-dev", ...flags(p), "-config-file", hclInJson]);
  expect(j.code).toBe(1);
  expect(j.err).toContain('this looks like HCL: name the file "*.hcl"');
}, 120_000);
