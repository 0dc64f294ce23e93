/**
 * Crash safety: SIGKILL the agent while 1,000 writes are in flight, restart it
 * on the same data dir, and find every acknowledged write, with indexes that
 * never go backwards.
 */
import { afterAll, expect, test } from "bun:test";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type AgentProcess, startAgent, tempDir } from "./_agent.ts";

const dirs: { remove(): Promise<void> }[] = [];
const agents: AgentProcess[] = [];
afterAll(async () => {
  for (const a of agents) await a.kill();
  for (const d of dirs) await d.remove();
});

async function index(base: string, path: string): Promise<number> {
  const r = await fetch(`${base}${path}`);
  await r.arrayBuffer();
  return Number(r.headers.get("x-consul-index"));
}

test("every acknowledged write survives SIGKILL mid-flight", async () => {
  const dir = await tempDir("consulate-crash-");
  dirs.push(dir);
  // A small snapshot threshold makes compaction run during the load as well.
  const config = join(dir.path, "config.json");
  await writeFile(config, JSON.stringify({ raft_snapshot_threshold: 200 }));
  const args = ["-server", "-bootstrap", "-data-dir", join(dir.path, "data"), "-node", "crash1", "-config-file", config];
  const first = await startAgent(args);
  agents.push(first);

  // Some history before the storm, so the restart also replays a snapshot.
  for (let i = 0; i < 300; i++) await fetch(`${first.base}/v1/kv/pre/${i}`, { method: "PUT", body: `p${i}` });
  let maxIndexSeen = await index(first.base, "/v1/kv/pre/?recurse");

  const acked = new Map<number, string>();
  let killed = false;
  const killAfter = 250 + Math.floor(Math.random() * 250);
  const writes = Array.from({ length: 1000 }, async (_, i) => {
    try {
      const r = await fetch(`${first.base}/v1/kv/crash/${i}`, { method: "PUT", body: `value-${i}` });
      if ((await r.text()) === "true") {
        acked.set(i, `value-${i}`);
        if (acked.size === killAfter && !killed) {
          killed = true;
          first.child.kill("SIGKILL");
        }
      }
    } catch {
      // refused or reset by the kill: not acknowledged
    }
  });
  await Promise.all(writes);
  await first.kill();
  expect(killed).toBe(true);
  expect(acked.size).toBeGreaterThanOrEqual(killAfter);
  expect(acked.size).toBeLessThan(1000);
  console.log(`acknowledged ${acked.size} of 1000 before SIGKILL (kill after ${killAfter})`);

  const second = await startAgent(args);
  agents.push(second);
  const r = await fetch(`${second.base}/v1/kv/crash/?recurse`);
  const rows = (await r.json()) as { Key: string; Value: string; ModifyIndex: number }[];
  const found = new Map(rows.map((row) => [Number(row.Key.split("/")[1]), atob(row.Value)]));
  for (const [i, v] of acked) expect(found.get(i)).toBe(v);
  const pre = (await (await fetch(`${second.base}/v1/kv/pre/?recurse`)).json()) as unknown[];
  expect(pre.length).toBe(300);

  // Indexes never go backwards: the restarted store is at least where clients saw it.
  const after = await index(second.base, "/v1/kv/crash/?recurse");
  maxIndexSeen = Math.max(maxIndexSeen, ...rows.map((row) => row.ModifyIndex));
  expect(after).toBeGreaterThanOrEqual(maxIndexSeen);
  await fetch(`${second.base}/v1/kv/crash/new`, { method: "PUT", body: "x" });
  const newRow = (await (await fetch(`${second.base}/v1/kv/crash/new`)).json()) as { ModifyIndex: number }[];
  expect(newRow[0]!.ModifyIndex).toBeGreaterThan(after);
  expect(await second.stop()).toBe(0);
}, 60_000);
