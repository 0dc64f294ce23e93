/**
 * `consulate snapshot save|inspect|restore` and `operator raft list-peers`
 * as a user runs them, against a durable server process: the restored state
 * is served, survives a restart, and a bad archive changes nothing.
 */
import { afterAll, expect, test } from "bun:test";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, startAgent, tempDir } from "./_agent.ts";
import { runCliProcess } from "../api/harness.ts";

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function kvDump(base: string): Promise<{ Key: string; Value: string | null }[]> {
  const r = await fetch(`${base}/v1/kv/?recurse`);
  if (r.status === 404) return [];
  return ((await r.json()) as { Key: string; Value: string | null }[]).map(({ Key, Value }) => ({ Key, Value }));
}

test("save, inspect, restore; the restore survives a restart; a bad archive is refused", async () => {
  const dir = await tempDir("consulate-snap-");
  cleanups.push(() => dir.remove());
  const args = ["-server", "-bootstrap", "-data-dir", join(dir.path, "data"), "-node", "snap1"];
  let agent: AgentProcess = await startAgent(args);
  cleanups.push(() => agent.kill());
  const cli = (a: string[]) => runCliProcess(a, { address: `127.0.0.1:${agent.port}` });

  for (let i = 0; i < 20; i++) await fetch(`${agent.base}/v1/kv/app/cfg/${i}`, { method: "PUT", body: `v${i}` });
  await fetch(`${agent.base}/v1/kv/other/x`, { method: "PUT", body: "y".repeat(1000) });
  const saved = await kvDump(agent.base);

  // One LocalLog server: list-peers shows it, leading.
  const peers = await cli(["operator", "raft", "list-peers"]);
  expect(peers.code).toBe(0);
  const rows = peers.stdout.trim().split("\n");
  expect(rows).toHaveLength(2);
  expect(rows[1]).toMatch(/^snap1\s+\S+\s+127\.0\.0\.1:\d+\s+leader\s+true\s+3$/);

  const file = join(dir.path, "backup.snap");
  const save = await cli(["snapshot", "save", file]);
  expect(save.stderr).toBe("");
  expect(save.stdout).toMatch(/^Saved and verified snapshot to index \d+\n$/);
  expect(save.code).toBe(0);
  const savedIndex = Number(/index (\d+)/.exec(save.stdout)![1]);
  expect((await readdir(dir.path)).filter((f) => f.includes("unverified"))).toEqual([]);

  const inspect = await cli(["snapshot", "inspect", file]);
  expect(inspect.code).toBe(0);
  expect(inspect.stdout).toContain(` Index        ${savedIndex}\n`);
  expect(inspect.stdout).toMatch(/\n KVS {6,}21 {6,}[\d.]+KB/);
  expect(inspect.stdout).toMatch(/\n Register {6,}3 /); // the server's node, its consul service and serfHealth check
  const detailed = await cli(["snapshot", "inspect", "-kvdetails", "-kvdepth", "1", "-format", "json", file]);
  const json = JSON.parse(detailed.stdout) as { Meta: { Index: number }; StatsKV: { Name: string; Count: number }[] };
  expect(json.Meta.Index).toBe(savedIndex);
  expect(json.StatsKV.map((s) => [s.Name, s.Count])).toEqual([
    ["app", 20],
    ["other", 1],
  ]);

  // Change everything, then restore.
  await fetch(`${agent.base}/v1/kv/app/?recurse`, { method: "DELETE" });
  await fetch(`${agent.base}/v1/kv/new`, { method: "PUT", body: "after" });
  const restore = await cli(["snapshot", "restore", file]);
  expect(restore).toEqual({ code: 0, stdout: "Restored snapshot\n", stderr: "" });
  expect(await kvDump(agent.base)).toEqual(saved);

  // A corrupted archive: refused with the reason, nothing changes.
  const bytes = new Uint8Array(await readFile(file));
  bytes[bytes.length - 12] = bytes[bytes.length - 12]! ^ 0xff;
  const bad = join(dir.path, "bad.snap");
  await writeFile(bad, bytes);
  await fetch(`${agent.base}/v1/kv/marker`, { method: "PUT", body: "m" });
  const afterMarker = await kvDump(agent.base);
  const refused = await cli(["snapshot", "restore", bad]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(/^Error restoring snapshot: Unexpected response code: 400 \(failed to decompress snapshot: /);
  expect(await kvDump(agent.base)).toEqual(afterMarker);
  expect(await cli(["snapshot", "restore", join(dir.path, "missing.snap")])).toMatchObject({
    code: 1,
    stderr: `Error opening snapshot file: open ${join(dir.path, "missing.snap")}: no such file or directory\n`,
  });
  expect((await cli(["snapshot", "inspect", bad])).stderr).toMatch(/^Error reading snapshot: failed to decompress snapshot: /);

  // Restart on the same data dir: the restored state (plus the marker) is what comes back.
  expect(await agent.stop()).toBe(0);
  agent = await startAgent(args, { port: agent.port });
  expect(await kvDump(agent.base)).toEqual(afterMarker);
}, 60_000);
